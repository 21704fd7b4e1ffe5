"""The gRPC channel to gobgpd: connect with backoff, watch health, count generations.

``Connection`` owns one ``grpc.aio`` channel for its whole life. Being connected means
a *sentinel stream* is open: a ``WatchEvent{peer}`` subscription whose END_OF_INIT reply
proves the daemon answers. Why a stream and not only a periodic ping: gRPC re-dials
transparently, so a gobgpd that restarts between two pings answers the next ping as if
nothing happened (the Go original missed such restarts), with all its state gone. A stream cannot
survive its server process: the restart breaks it at once, between pings or not. The
periodic ``GetBgp`` ping still runs to catch a daemon that hangs with its socket open.

Every successful (re)connection increments ``generation``. Loss of the sentinel or a
failed ping is treated as "gobgpd may have lost its state" (conservative: a transport
hiccup also counts), so consumers re-reconcile everything when the generation changes;
wait for that with ``wait_generation_change`` or iterate ``generations()``.

Reconnection never gives up (the Go original stopped after one failed reconnect); only
the first ``open`` has a deadline, so a process can fail fast at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

import grpc
import grpc.aio

from bgpctl.gobgp._proto import service_pb2, service_pb2_grpc
from bgpctl.gobgp.errors import GoBGPUnavailable
from bgpctl.runtime import clock
from bgpctl.runtime.backoff import Backoff

if TYPE_CHECKING:
    from bgpctl.gobgp._proto.service_pb2_grpc import GobgpApiAsyncStub

log = logging.getLogger("bgpctl.gobgp")

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_MESSAGE_BYTES = 512 * 1024 * 1024
"""Receive limit: a best-path stream with ``init`` sends the whole table as ONE message
(47.5 MB for 100k IPv6 paths); gRPC's default 4 MiB would fail with RESOURCE_EXHAUSTED."""

CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Keep the channel's own re-dial quick so a restarted gobgpd is found within ~1 s.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # No transparent retries: every failure must reach us so we can count generations.
    ("grpc.enable_retries", 0),
)

_END_OF_INIT = service_pb2.WatchEventResponse.PeerEvent.END_OF_INIT
_SENTINEL_REQUEST = service_pb2.WatchEventRequest(peer=service_pb2.WatchEventRequest.Peer())


DEFAULT_BACKOFF = Backoff(duration=0.1, factor=2.0, jitter=0.25, cap=1.6)
"""Between connection attempts: 0.1 s doubling, never more than 2 s (1.6 s + 25 % jitter),
jittered so that many clients restarted together do not retry in lockstep."""


class Connection:
    """One channel to gobgpd plus its health supervision; see the module docstring."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        backoff: Backoff | None = None,
        health_interval: float = 5.0,
        ping_timeout: float = 2.0,
        attempt_timeout: float = 3.0,
    ) -> None:
        """Prepare a connection; nothing happens until ``open``.

        Args:
            target: gRPC target: ``127.0.0.1:50051`` or ``unix:///path/to/sock``.
            backoff: Delays between connection attempts.
            health_interval: Seconds between GetBgp pings while connected.
            ping_timeout: Deadline of one ping, seconds.
            attempt_timeout: How long one connection attempt may wait for gobgpd, seconds.
        """
        self.target = target
        self._backoff = backoff or DEFAULT_BACKOFF
        self._health_interval = health_interval
        self._ping_timeout = ping_timeout
        self._attempt_timeout = attempt_timeout
        self._channel: grpc.aio.Channel | None = None
        self._stub: GobgpApiAsyncStub | None = None
        self._sentinel: (
            grpc.aio.UnaryStreamCall[service_pb2.WatchEventRequest, service_pb2.WatchEventResponse]
            | None
        ) = None
        self._task: asyncio.Task[None] | None = None
        self._cond = asyncio.Condition()
        self._generation = 0
        self._connected = False
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self, *, connect_timeout: float | None = 60.0) -> None:
        """Connect, retrying with backoff for up to ``connect_timeout`` s, then supervise.

        Raises:
            GoBGPUnavailable: gobgpd did not answer within ``connect_timeout``.
        """
        if self._channel is not None:
            raise RuntimeError("connection already opened")
        self._channel = grpc.aio.insecure_channel(self.target, options=CHANNEL_OPTIONS)
        self._stub = service_pb2_grpc.GobgpApiStub(self._channel)
        deadline = None if connect_timeout is None else clock.now() + connect_timeout
        try:
            await self._reconnect(deadline)
        except BaseException:
            await self.close()
            raise
        self._task = asyncio.create_task(self._supervise(), name=f"gobgp-health {self.target}")

    async def close(self) -> None:
        """Stop supervision and close the channel; in-flight calls and streams end."""
        async with self._cond:
            self._closed = True
            self._connected = False
            self._cond.notify_all()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)  # our own cancel: not a failure
        self._drop_sentinel()
        if self._channel is not None:
            await self._channel.close(None)

    # -- state ------------------------------------------------------------------------------

    @property
    def stub(self) -> GobgpApiAsyncStub:
        """The generated stub on this channel.

        Raises:
            GoBGPUnavailable: The connection is not open or already closed.
        """
        if self._stub is None or self._closed:
            raise GoBGPUnavailable(f"connection to {self.target} is not open")
        return self._stub

    @property
    def generation(self) -> int:
        """0 before the first connection; +1 on every (re)connection to gobgpd."""
        return self._generation

    @property
    def connected(self) -> bool:
        """True while the sentinel stream is open and pings succeed."""
        return self._connected

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        return self._closed

    async def wait_connected(self) -> int:
        """Wait until connected; return the current generation.

        Raises:
            GoBGPUnavailable: The connection is (or becomes) closed.
        """
        async with self._cond:
            await self._cond.wait_for(lambda: self._connected or self._closed)
            if self._closed:
                raise GoBGPUnavailable(f"connection to {self.target} closed")
            return self._generation

    async def wait_disconnected(self) -> None:
        """Wait until the connection is lost (or closed); returns at once if it is."""
        async with self._cond:
            await self._cond.wait_for(lambda: not self._connected)

    async def wait_generation_change(self, after: int) -> int:
        """Wait until the generation differs from ``after``; return the new one.

        Raises:
            GoBGPUnavailable: The connection is (or becomes) closed.
        """
        async with self._cond:
            await self._cond.wait_for(lambda: self._generation != after or self._closed)
            if self._closed:
                raise GoBGPUnavailable(f"connection to {self.target} closed")
            return self._generation

    async def generations(self) -> AsyncGenerator[int, None]:
        """Yield the current generation (once connected), then every new one.

        Changes that happen faster than the consumer reads are coalesced: only the latest
        generation is yielded. Ends when the connection is closed.
        """
        try:
            seen = await self.wait_connected()
            yield seen
            while True:
                seen = await self.wait_generation_change(seen)
                yield seen
        except GoBGPUnavailable:
            return

    # -- supervision ------------------------------------------------------------------------

    async def _supervise(self) -> None:
        while True:
            reason = await self._watch()
            log.warning("gobgp connection lost", extra={"target": self.target, "reason": reason})
            async with self._cond:
                self._connected = False
                self._cond.notify_all()
            self._drop_sentinel()
            await self._reconnect(None)

    async def _reconnect(self, deadline: float | None) -> None:
        last: Exception | None = None
        for delay in self._backoff.delays():
            try:
                self._sentinel = await self._attempt()
            except Exception as exc:  # any failure of one attempt: try again
                last = exc
            else:
                async with self._cond:
                    self._generation += 1
                    self._connected = True
                    self._cond.notify_all()
                log.info(
                    "gobgp connected", extra={"target": self.target, "generation": self._generation}
                )
                return
            if deadline is not None and clock.now() + delay > deadline:
                raise GoBGPUnavailable(
                    f"cannot connect to gobgpd at {self.target}: {last}"
                ) from last
            await asyncio.sleep(delay)
        raise GoBGPUnavailable(f"cannot connect to gobgpd at {self.target}: {last}") from last

    async def _attempt(
        self,
    ) -> grpc.aio.UnaryStreamCall[service_pb2.WatchEventRequest, service_pb2.WatchEventResponse]:
        """Open the sentinel stream, wait for END_OF_INIT, then ping once."""
        call = self.stub.WatchEvent(_SENTINEL_REQUEST, wait_for_ready=True)
        try:
            async with asyncio.timeout(self._attempt_timeout):
                while True:
                    response = await call.read()
                    if not isinstance(response, service_pb2.WatchEventResponse):  # EOF
                        raise GoBGPUnavailable("sentinel stream ended during its replay")
                    if response.HasField("peer") and response.peer.type == _END_OF_INIT:
                        break
            # The stream answers; make sure unary calls do too (the health ping's path).
            await self.stub.GetBgp(service_pb2.GetBgpRequest(), timeout=self._ping_timeout)
            return call
        except BaseException:
            call.cancel()
            raise

    async def _watch(self) -> str:
        """Run sentinel reader and pinger until either reports a loss; return why."""
        sentinel = self._sentinel
        assert sentinel is not None
        reader = asyncio.create_task(self._read_sentinel(sentinel))
        pinger = asyncio.create_task(self._ping_loop())
        try:
            done, _ = await asyncio.wait({reader, pinger}, return_when=asyncio.FIRST_COMPLETED)
            task = next(iter(done))
            error = task.exception()  # anything unexpected also counts as a loss: reconnect
            return task.result() if error is None else f"health watch failed: {error!r}"
        finally:
            for task in (reader, pinger):
                task.cancel()
            await asyncio.gather(reader, pinger, return_exceptions=True)

    @staticmethod
    async def _read_sentinel(
        call: grpc.aio.UnaryStreamCall[
            service_pb2.WatchEventRequest, service_pb2.WatchEventResponse
        ],
    ) -> str:
        try:
            while isinstance(await call.read(), service_pb2.WatchEventResponse):
                pass  # peer STATE events: irrelevant here, only the stream's life matters
        except grpc.RpcError as exc:
            return f"sentinel stream broke: {_code(exc)}"
        return "sentinel stream ended"

    async def _ping_loop(self) -> str:
        while True:
            await asyncio.sleep(self._health_interval)
            try:
                await self.stub.GetBgp(service_pb2.GetBgpRequest(), timeout=self._ping_timeout)
            except grpc.RpcError as exc:
                return f"health check failed: {_code(exc)}"

    def _drop_sentinel(self) -> None:
        if self._sentinel is not None:
            self._sentinel.cancel()
            self._sentinel = None


def _code(exc: grpc.RpcError) -> str:
    code = getattr(exc, "code", None)
    return code().name if callable(code) else type(exc).__name__
