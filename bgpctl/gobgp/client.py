"""GoBGPClient: typed async access to one gobgpd over gRPC.

The client owns a ``Connection`` (channel, health, generation) and offers one coroutine
per operation, taking and returning ``bgpctl.gobgp.types`` / ``.policy`` values. Every
call has a deadline and raises only ``GoBGPError`` subclasses (see ``errors``). Calls do
not wait for a reconnection: while gobgpd is down they fail fast with
``GoBGPUnavailable`` and the caller retries with its own backoff (controllers requeue).

Usage::

    async with GoBGPClient("unix:///run/gobgpd.sock") as gobgp:
        await gobgp.start_bgp(Global(asn=65001, router_id="192.0.2.1"))
        async for generation in gobgp.generations():
            ...  # full re-reconcile on every new generation
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from types import TracebackType
from typing import Literal

from bgpctl.gobgp import streams
from bgpctl.gobgp._proto import family_pb2, service_pb2
from bgpctl.gobgp.connection import DEFAULT_BACKOFF, DEFAULT_TARGET, Connection
from bgpctl.gobgp.convert import (
    family_to_pb,
    global_from_pb,
    global_to_pb,
    path_from_pb,
    path_to_pb,
)
from bgpctl.gobgp.convert_peer import peer_from_pb, peer_to_pb
from bgpctl.gobgp.errors import map_grpc_errors
from bgpctl.gobgp.policy_client import PolicyMethods
from bgpctl.gobgp.types import (
    BestPathEvent,
    Family,
    Global,
    IPAddress,
    IPNetwork,
    Path,
    Peer,
    PeerEvent,
    PeerSpec,
    Resync,
    TableInfo,
)
from bgpctl.runtime.backoff import Backoff

DEFAULT_RPC_TIMEOUT = 10.0
DEFAULT_LIST_TIMEOUT = 120.0
DEFAULT_CHUNK_SIZE = 1000
"""Paths per AddPathStream message: 1000 measured ~1.5x faster than 100, no worse than 10k."""

_GLOBAL = family_pb2.GLOBAL


class GoBGPClient(PolicyMethods):
    """Typed async client for gobgpd; see the module docstring."""

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        rpc_timeout: float = DEFAULT_RPC_TIMEOUT,
        list_timeout: float = DEFAULT_LIST_TIMEOUT,
        backoff: Backoff | None = None,
        health_interval: float = 5.0,
        ping_timeout: float = 2.0,
        attempt_timeout: float = 3.0,
    ) -> None:
        """Prepare a client; call ``connect`` (or use ``async with``) before anything else.

        Args:
            target: ``127.0.0.1:<port>`` or ``unix:///path``; gobgpd must only listen on
                loopback or a unix socket, since its API has no authentication.
            rpc_timeout: Deadline of unary calls, seconds.
            list_timeout: Deadline of List* streams, seconds (a 100k ListPath takes ~15 s).
            backoff: Delays between (re)connection and resubscription attempts.
            health_interval: Seconds between health pings.
            ping_timeout: Deadline of one health ping, seconds.
            attempt_timeout: How long one connection attempt waits for gobgpd, seconds.
        """
        self._backoff = backoff or DEFAULT_BACKOFF
        self._conn = Connection(
            target,
            backoff=self._backoff,
            health_interval=health_interval,
            ping_timeout=ping_timeout,
            attempt_timeout=attempt_timeout,
        )
        self._timeout = rpc_timeout
        self._list_timeout = list_timeout

    # -- lifecycle and generations ----------------------------------------------------------

    async def connect(self, *, connect_timeout: float | None = 60.0) -> None:
        """Connect (retrying with backoff up to ``connect_timeout`` s), start health checks.

        Raises:
            GoBGPUnavailable: gobgpd did not answer in time.
        """
        await self._conn.open(connect_timeout=connect_timeout)

    async def close(self) -> None:
        """Close the channel; streams end and later calls raise ``GoBGPUnavailable``."""
        await self._conn.close()

    async def __aenter__(self) -> GoBGPClient:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def target(self) -> str:
        """The gRPC target."""
        return self._conn.target

    @property
    def generation(self) -> int:
        """Connection generation: changes on every (re)connection, including restarts."""
        return self._conn.generation

    @property
    def connected(self) -> bool:
        """True while gobgpd is known to be reachable."""
        return self._conn.connected

    async def wait_connected(self) -> int:
        """Wait until connected; return the generation (raises if closed)."""
        return await self._conn.wait_connected()

    async def wait_generation_change(self, after: int) -> int:
        """Wait until the generation is no longer ``after``; return the new one."""
        return await self._conn.wait_generation_change(after)

    async def wait_disconnected(self) -> None:
        """Wait until gobgpd is found unreachable (or the client is closed)."""
        await self._conn.wait_disconnected()

    def generations(self) -> AsyncGenerator[int, None]:
        """Yield the current generation, then each new one (coalesced) until closed."""
        return self._conn.generations()

    # -- speaker ------------------------------------------------------------------------------

    async def start_bgp(self, config: Global) -> None:
        """Start the BGP speaker.

        GoBGP also resets the routing-policy engine and the global RIB on StartBgp, so
        policies and paths must be (re)applied afterwards.
        """
        request = service_pb2.StartBgpRequest(**{"global": global_to_pb(config)})
        with map_grpc_errors():
            await self._conn.stub.StartBgp(request, timeout=self._timeout)

    async def stop_bgp(self) -> None:
        """Stop the speaker: every neighbor is removed and the global config cleared."""
        with map_grpc_errors():
            await self._conn.stub.StopBgp(service_pb2.StopBgpRequest(), timeout=self._timeout)

    async def get_bgp(self) -> Global:
        """The running global config; ``asn == 0`` (``started`` false) if not started."""
        with map_grpc_errors():
            response = await self._conn.stub.GetBgp(
                service_pb2.GetBgpRequest(), timeout=self._timeout
            )
        return global_from_pb(getattr(response, "global"))

    # -- peers ----------------------------------------------------------------------------------

    async def add_peer(self, spec: PeerSpec) -> None:
        """Add a neighbor.

        Raises:
            AlreadyExists: A neighbor with this address exists (use ``update_peer``).
        """
        with map_grpc_errors():
            await self._conn.stub.AddPeer(
                service_pb2.AddPeerRequest(peer=peer_to_pb(spec)), timeout=self._timeout
            )

    async def update_peer(self, spec: PeerSpec, *, soft_reset_in: bool = False) -> bool:
        """Replace a neighbor's configuration; return whether a soft reset-in is needed.

        Raises:
            NotFound: No neighbor with this address.
        """
        request = service_pb2.UpdatePeerRequest(
            peer=peer_to_pb(spec), do_soft_reset_in=soft_reset_in
        )
        with map_grpc_errors():
            response = await self._conn.stub.UpdatePeer(request, timeout=self._timeout)
        return response.needs_soft_reset_in

    async def delete_peer(self, address: IPAddress) -> None:
        """Remove a neighbor (the session is closed with a CEASE).

        Raises:
            NotFound: No neighbor with this address.
        """
        with map_grpc_errors():
            await self._conn.stub.DeletePeer(
                service_pb2.DeletePeerRequest(address=str(address)), timeout=self._timeout
            )

    async def list_peers(self, address: IPAddress | None = None) -> list[Peer]:
        """All neighbors, or only the one at ``address`` (empty list if absent)."""
        # enableAdvertised: GoBGP counts the prefixes advertised to each neighbor only then.
        request = service_pb2.ListPeerRequest(
            address=str(address) if address else "", enableAdvertised=True
        )
        with map_grpc_errors():
            call = self._conn.stub.ListPeer(request, timeout=self._list_timeout)
            return [peer_from_pb(r.peer) async for r in call]

    async def get_peer(self, address: IPAddress) -> Peer | None:
        """The neighbor at ``address``, or ``None``."""
        peers = await self.list_peers(address)
        return next((p for p in peers if p.spec.neighbor_address == address), None)

    async def reset_peer(
        self,
        address: IPAddress,
        *,
        soft: bool = True,
        direction: Literal["in", "out", "both"] = "both",
    ) -> None:
        """Reset a session; soft resets re-evaluate policy without dropping it.

        Args:
            address: The neighbor.
            soft: Soft reset (route refresh / re-advertise) instead of a hard reset.
            direction: ``"in"``, ``"out"`` or ``"both"`` (soft resets only).
        """
        directions = service_pb2.ResetPeerRequest.SoftResetDirection
        request = service_pb2.ResetPeerRequest(
            address=str(address), soft=soft, direction=directions.Value(direction.upper())
        )
        with map_grpc_errors():
            await self._conn.stub.ResetPeer(request, timeout=self._timeout)

    # -- paths ----------------------------------------------------------------------------------

    async def add_path(self, path: Path) -> bytes:
        """Announce (or, with ``is_withdraw``, withdraw) one path in the global RIB.

        Returns:
            GoBGP's handle of the path (empty for withdrawals).
        """
        request = service_pb2.AddPathRequest(table_type=_GLOBAL, path=path_to_pb(path))
        with map_grpc_errors():
            response = await self._conn.stub.AddPath(request, timeout=self._timeout)
        return response.uuid

    async def withdraw_path(self, path: Path) -> None:
        """Withdraw a locally originated path (AddPath with ``is_withdraw``)."""
        await self.add_path(path.withdrawal())

    async def delete_path(self, path: Path) -> None:
        """DeletePath for one path (matched by prefix and origin, like a withdrawal)."""
        request = service_pb2.DeletePathRequest(
            table_type=_GLOBAL, family=family_to_pb(path.family), path=path_to_pb(path)
        )
        with map_grpc_errors():
            await self._conn.stub.DeletePath(request, timeout=self._timeout)

    async def delete_all_local_paths(self, family: Family) -> None:
        """Delete every locally originated path of ``family`` (DeletePath without a path)."""
        request = service_pb2.DeletePathRequest(table_type=_GLOBAL, family=family_to_pb(family))
        with map_grpc_errors():
            await self._conn.stub.DeletePath(request, timeout=self._timeout)

    async def add_paths(
        self,
        paths: Iterable[Path] | AsyncIterable[Path],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        stream_timeout: float | None = None,
    ) -> int:
        """Bulk announce/withdraw through AddPathStream, ``chunk_size`` paths per message.

        Paths are encoded lazily, one chunk at a time, so memory stays flat. GoBGP applies
        chunks as they arrive and stops at the first bad path; on error, an unknown prefix
        of the input has been applied. Paths sent this way get no uuid.

        Returns:
            The number of paths sent.
        """
        sent = 0

        async def requests() -> AsyncIterator[service_pb2.AddPathStreamRequest]:
            nonlocal sent
            chunk: list[Path] = []
            async for path in _aiter(paths):
                chunk.append(path)
                if len(chunk) >= chunk_size:
                    yield _stream_request(chunk)
                    sent += len(chunk)
                    chunk = []
            if chunk:
                yield _stream_request(chunk)
                sent += len(chunk)

        with map_grpc_errors():
            await self._conn.stub.AddPathStream(
                requests(),
                timeout=self._list_timeout if stream_timeout is None else stream_timeout,
            )
        return sent

    async def list_paths(
        self,
        family: Family,
        *,
        prefixes: Iterable[IPNetwork] = (),
        best_only: bool = False,
    ) -> list[Path]:
        """Paths of the global RIB for ``family`` (optionally only exact ``prefixes``)."""
        request = service_pb2.ListPathRequest(
            table_type=_GLOBAL,
            family=family_to_pb(family),
            prefixes=[service_pb2.TableLookupPrefix(prefix=str(p)) for p in prefixes],
        )
        out: list[Path] = []
        with map_grpc_errors():
            async for response in self._conn.stub.ListPath(request, timeout=self._list_timeout):
                out.extend(
                    path_from_pb(p) for p in response.destination.paths if p.best or not best_only
                )
        return out

    async def get_table(self, family: Family) -> TableInfo:
        """Destination and path counts of the global RIB for ``family``."""
        request = service_pb2.GetTableRequest(table_type=_GLOBAL, family=family_to_pb(family))
        with map_grpc_errors():
            response = await self._conn.stub.GetTable(request, timeout=self._timeout)
        return TableInfo(response.num_destination, response.num_path, response.num_accepted)

    # -- streams ----------------------------------------------------------------------------------

    def watch_peers(self) -> AsyncGenerator[Resync | PeerEvent, None]:
        """Peer events, resubscribing by itself; see ``streams.watch_peers``."""
        return streams.watch_peers(self._conn, backoff=self._backoff)

    def watch_best_paths(
        self, *, init: bool = True
    ) -> AsyncGenerator[Resync | BestPathEvent, None]:
        """Best-path changes, resubscribing by itself; see ``streams.watch_best_paths``."""
        return streams.watch_best_paths(
            self._conn, init=init, backoff=self._backoff, get_started=self._started
        )

    def watch_best_path_messages(
        self, *, init: bool = True
    ) -> AsyncGenerator[Resync | streams.RawBestPaths, None]:
        """Best-path changes as raw ``apipb.Path`` messages; see ``streams``."""
        return streams.watch_best_path_messages(
            self._conn, init=init, backoff=self._backoff, get_started=self._started
        )

    async def _started(self) -> bool:
        return (await self.get_bgp()).started


def _stream_request(chunk: list[Path]) -> service_pb2.AddPathStreamRequest:
    return service_pb2.AddPathStreamRequest(
        table_type=_GLOBAL, paths=[path_to_pb(p) for p in chunk]
    )


async def _aiter(paths: Iterable[Path] | AsyncIterable[Path]) -> AsyncIterator[Path]:
    if isinstance(paths, AsyncIterable):
        async for path in paths:
            yield path
    else:
        for path in paths:
            yield path
