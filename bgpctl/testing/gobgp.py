"""A fake gobgpd for unit tests: an in-process grpc.aio server speaking our ``apipb`` subset.

``serve_fake_gobgp()`` starts ``FakeGoBGPServicer`` on 127.0.0.1, port 0, and yields a
``FakeGoBGP`` handle whose ``restart()`` simulates a gobgpd crash and restart (streams
break, state is lost, the same port answers again), ``stop()``/``start()`` an outage,
and ``stall()`` a daemon that hangs with its socket open (GetBgp and new
subscriptions never answer).

Behaviour follows GoBGP where bgpctl depends on it: errors are code UNKNOWN with GoBGP's
messages, GetBgp reports AS 0 until StartBgp, WatchEvent replays INIT/END_OF_INIT and
sends the best-path table as one message when ``init`` is set and BGP is started,
StartBgp wipes paths and policy, and ``DeletePath`` without a path deletes every local
path of the family. It is a model, not a BGP speaker: there are no sessions, peers stay
IDLE unless ``set_peer_state`` says otherwise, and every local path is best.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
from google.protobuf import empty_pb2

from bgpctl.gobgp._proto import path_pb2, peer_pb2, policy_pb2, service_pb2_grpc
from bgpctl.gobgp._proto import service_pb2 as s

Context = grpc.aio.ServicerContext[Any, Any]
_EMPTY = empty_pb2.Empty()
_PeerEvent = s.WatchEventResponse.PeerEvent


def _peer_event(kind: int, peer: peer_pb2.Peer | None = None) -> s.WatchEventResponse:
    event = _PeerEvent(type=_PeerEvent.Type.ValueType(kind))
    if peer is not None:
        event.peer.conf.CopyFrom(peer.conf)
        event.peer.state.CopyFrom(peer.state)
        event.peer.transport.CopyFrom(peer.transport)
    return s.WatchEventResponse(peer=event)


class FakeGoBGPServicer(service_pb2_grpc.GobgpApiServicer):
    """In-memory GobgpApi; inspect ``global_``, ``peers``, ``paths`` and the policy dicts."""

    def __init__(self) -> None:
        self._watchers: list[tuple[s.WatchEventRequest, asyncio.Queue[s.WatchEventResponse]]] = []
        self.running = asyncio.Event()  # cleared: GetBgp hangs
        self.running.set()
        self.reset()

    def reset(self) -> None:
        """Forget everything, like a freshly started gobgpd."""
        self.global_: s.Global | None = None
        self.peers: dict[str, peer_pb2.Peer] = {}
        self.paths: dict[tuple[int, str], path_pb2.Path] = {}
        self._reset_policy()
        self.calls: list[str] = []

    def _reset_policy(self) -> None:
        self.defined_sets: dict[tuple[int, str], policy_pb2.DefinedSet] = {}
        self.policies: dict[str, policy_pb2.Policy] = {}
        self.assignments: dict[tuple[str, int], policy_pb2.PolicyAssignment] = {}

    # -- test controls ----------------------------------------------------------------------

    def set_peer_state(self, address: str, state: int) -> None:
        """Move a peer to ``peer_pb2.PeerState.<STATE>`` and emit a STATE event."""
        peer = self.peers[address]
        peer.state.session_state = peer_pb2.PeerState.SessionState.ValueType(state)
        self._notify_peer(_PeerEvent.STATE, peer)

    def _notify_peer(self, kind: int, peer: peer_pb2.Peer) -> None:
        for request, queue in self._watchers:
            if request.HasField("peer"):
                queue.put_nowait(_peer_event(kind, peer))

    def _notify_paths(self, paths: list[path_pb2.Path]) -> None:
        for request, queue in self._watchers:
            if request.HasField("table"):
                for p in paths:  # GoBGP sends one path per best-path event
                    event = s.WatchEventResponse()
                    event.table.paths.append(p)
                    queue.put_nowait(event)

    async def _check_stall(self) -> None:
        await self.running.wait()

    # -- speaker ----------------------------------------------------------------------------

    async def StartBgp(self, request: s.StartBgpRequest, context: Context) -> empty_pb2.Empty:
        if self.global_ is not None:
            await context.abort(grpc.StatusCode.UNKNOWN, "bgp server already started")
        config = s.Global()
        config.CopyFrom(getattr(request, "global"))
        if not config.listen_addresses:
            config.listen_addresses.extend(["0.0.0.0", "::"])
        self.global_ = config
        self.paths.clear()
        self._reset_policy()
        return _EMPTY

    async def StopBgp(self, request: s.StopBgpRequest, context: Context) -> empty_pb2.Empty:
        self.global_ = None
        self.peers.clear()
        return _EMPTY

    async def GetBgp(self, request: s.GetBgpRequest, context: Context) -> s.GetBgpResponse:
        await self._check_stall()
        return s.GetBgpResponse(**{"global": self.global_ or s.Global()})

    async def WatchEvent(
        self, request: s.WatchEventRequest, context: Context
    ) -> AsyncIterator[s.WatchEventResponse]:
        await self._check_stall()
        queue: asyncio.Queue[s.WatchEventResponse] = asyncio.Queue()
        if request.HasField("peer"):
            for peer in self.peers.values():
                queue.put_nowait(_peer_event(_PeerEvent.INIT, peer))
            queue.put_nowait(_peer_event(_PeerEvent.END_OF_INIT))
        init = any(f.init for f in request.table.filters)
        if init and self.global_ is not None:
            dump = s.WatchEventResponse()
            dump.table.paths.extend(self.paths.values())
            queue.put_nowait(dump)
        entry = (request, queue)
        self._watchers.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self._watchers.remove(entry)

    # -- peers ------------------------------------------------------------------------------

    async def AddPeer(self, request: s.AddPeerRequest, context: Context) -> empty_pb2.Empty:
        address = request.peer.conf.neighbor_address
        if address in self.peers:
            await context.abort(
                grpc.StatusCode.UNKNOWN, f"can't overwrite the existing peer: {address}"
            )
        peer = peer_pb2.Peer()
        peer.CopyFrom(request.peer)
        peer.state.neighbor_address = address
        peer.state.peer_asn = peer.conf.peer_asn
        peer.state.session_state = peer_pb2.PeerState.IDLE
        self.peers[address] = peer
        self._notify_peer(_PeerEvent.STATE, peer)
        return _EMPTY

    async def DeletePeer(self, request: s.DeletePeerRequest, context: Context) -> empty_pb2.Empty:
        if self.peers.pop(request.address, None) is None:
            await context.abort(
                grpc.StatusCode.UNKNOWN,
                f"can't delete a peer configuration for {request.address}",
            )
        return _EMPTY

    async def ListPeer(
        self, request: s.ListPeerRequest, context: Context
    ) -> AsyncIterator[s.ListPeerResponse]:
        for address, peer in list(self.peers.items()):
            if not request.address or request.address == address:
                yield s.ListPeerResponse(peer=peer)

    async def UpdatePeer(
        self, request: s.UpdatePeerRequest, context: Context
    ) -> s.UpdatePeerResponse:
        address = request.peer.conf.neighbor_address
        current = self.peers.get(address)
        if current is None:
            await context.abort(
                grpc.StatusCode.UNKNOWN, f"neighbor that has {address} doesn't exist"
            )
            raise AssertionError("unreachable")
        state = peer_pb2.PeerState()
        state.CopyFrom(current.state)
        current.CopyFrom(request.peer)
        current.state.CopyFrom(state)
        return s.UpdatePeerResponse()

    async def ResetPeer(self, request: s.ResetPeerRequest, context: Context) -> empty_pb2.Empty:
        if request.address not in self.peers:
            await context.abort(
                grpc.StatusCode.UNKNOWN, f"neighbor that has {request.address} doesn't exist"
            )
        return _EMPTY

    # -- RIB --------------------------------------------------------------------------------

    def _apply(self, path: path_pb2.Path) -> path_pb2.Path:
        key = (int(path.family.afi), path.nlri.value.hex())
        stored = path_pb2.Path()
        stored.CopyFrom(path)
        if path.is_withdraw:
            self.paths.pop(key, None)
        else:
            stored.best = True
            self.paths[key] = stored
        return stored

    async def _require_started(self, context: Context) -> None:
        if self.global_ is None:
            await context.abort(grpc.StatusCode.UNKNOWN, "bgp server hasn't started yet")

    async def AddPath(self, request: s.AddPathRequest, context: Context) -> s.AddPathResponse:
        await self._require_started(context)
        self._notify_paths([self._apply(request.path)])
        return s.AddPathResponse(uuid=b"" if request.path.is_withdraw else b"\x01" * 16)

    async def AddPathStream(
        self, request_iterator: AsyncIterator[s.AddPathStreamRequest], context: Context
    ) -> empty_pb2.Empty:
        async for request in request_iterator:
            self._notify_paths([self._apply(p) for p in request.paths])
        return _EMPTY

    async def DeletePath(self, request: s.DeletePathRequest, context: Context) -> empty_pb2.Empty:
        if request.HasField("path"):
            key = (int(request.path.family.afi), request.path.nlri.value.hex())
            if self.paths.pop(key, None) is None:
                await context.abort(grpc.StatusCode.UNKNOWN, "can't find a specified path")
        else:  # GoBGP: no path and no uuid deletes every local path of the family
            for key in [k for k in self.paths if k[0] == request.family.afi]:
                del self.paths[key]
        return _EMPTY

    async def ListPath(
        self, request: s.ListPathRequest, context: Context
    ) -> AsyncIterator[s.ListPathResponse]:
        for (afi, _), path in list(self.paths.items()):
            if afi == request.family.afi:
                yield s.ListPathResponse(destination=path_pb2.Destination(paths=[path]))

    async def GetTable(self, request: s.GetTableRequest, context: Context) -> s.GetTableResponse:
        count = sum(1 for afi, _ in self.paths if afi == request.family.afi)
        return s.GetTableResponse(num_destination=count, num_path=count)

    # -- policy (add/list/delete bookkeeping with GoBGP's error messages) ---------------------

    async def AddDefinedSet(
        self, request: s.AddDefinedSetRequest, context: Context
    ) -> empty_pb2.Empty:
        d = request.defined_set
        current = self.defined_sets.setdefault((d.defined_type, d.name), policy_pb2.DefinedSet())
        if not current.name:
            current.CopyFrom(d)
        else:  # GoBGP appends to an existing set
            current.prefixes.extend(d.prefixes)
            current.list.extend(d.list)
        return _EMPTY

    async def DeleteDefinedSet(
        self, request: s.DeleteDefinedSetRequest, context: Context
    ) -> empty_pb2.Empty:
        d = request.defined_set
        key = (d.defined_type, d.name)
        if key not in self.defined_sets:
            await context.abort(grpc.StatusCode.UNKNOWN, f"not found defined-set: {d.name}")
        if request.all:
            del self.defined_sets[key]
        return _EMPTY

    async def ListDefinedSet(
        self, request: s.ListDefinedSetRequest, context: Context
    ) -> AsyncIterator[s.ListDefinedSetResponse]:
        for (kind, name), d in list(self.defined_sets.items()):
            if kind == request.defined_type and request.name in ("", name):
                yield s.ListDefinedSetResponse(defined_set=d)

    async def AddStatement(
        self, request: s.AddStatementRequest, context: Context
    ) -> empty_pb2.Empty:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "fake: AddStatement")
        return _EMPTY

    async def DeleteStatement(
        self, request: s.DeleteStatementRequest, context: Context
    ) -> empty_pb2.Empty:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "fake: DeleteStatement")
        return _EMPTY

    async def ListStatement(
        self, request: s.ListStatementRequest, context: Context
    ) -> AsyncIterator[s.ListStatementResponse]:
        for policy in list(self.policies.values()):
            for statement in policy.statements:
                if request.name in ("", statement.name):
                    yield s.ListStatementResponse(statement=statement)

    async def AddPolicy(self, request: s.AddPolicyRequest, context: Context) -> empty_pb2.Empty:
        policy = policy_pb2.Policy()
        policy.CopyFrom(request.policy)
        known = {st.name for p in self.policies.values() for st in p.statements}
        for index, statement in enumerate(policy.statements):
            statement.name = statement.name or f"{policy.name}_stmt{index}"
            if statement.name in known:
                await context.abort(
                    grpc.StatusCode.UNKNOWN, f"statement {statement.name} already defined"
                )
        self.policies.setdefault(
            policy.name, policy_pb2.Policy(name=policy.name)
        ).statements.extend(policy.statements)
        return _EMPTY

    async def DeletePolicy(
        self, request: s.DeletePolicyRequest, context: Context
    ) -> empty_pb2.Empty:
        name = request.policy.name
        if name not in self.policies:
            await context.abort(grpc.StatusCode.UNKNOWN, f"not found policy: {name}")
        if request.all:
            if any(name in {p.name for p in a.policies} for a in self.assignments.values()):
                await context.abort(
                    grpc.StatusCode.UNKNOWN, f"can't delete. policy {name} is in use"
                )
            del self.policies[name]
        return _EMPTY

    async def ListPolicy(
        self, request: s.ListPolicyRequest, context: Context
    ) -> AsyncIterator[s.ListPolicyResponse]:
        for name in sorted(self.policies):
            if request.name in ("", name):
                yield s.ListPolicyResponse(policy=self.policies[name])

    async def _assignment_key(
        self, assignment: policy_pb2.PolicyAssignment, context: Context
    ) -> tuple[str, int]:
        if not assignment.name:
            await context.abort(grpc.StatusCode.UNKNOWN, "empty table name")
        return (assignment.name, assignment.direction)

    async def AddPolicyAssignment(
        self, request: s.AddPolicyAssignmentRequest, context: Context
    ) -> empty_pb2.Empty:
        key = await self._assignment_key(request.assignment, context)
        current = self.assignments.setdefault(
            key, policy_pb2.PolicyAssignment(name=key[0], direction=request.assignment.direction)
        )
        present = {p.name for p in current.policies}
        for p in request.assignment.policies:
            if p.name in present:
                await context.abort(grpc.StatusCode.UNKNOWN, f"duplicated policy {p.name}")
            current.policies.append(policy_pb2.Policy(name=p.name))
        current.default_action = request.assignment.default_action
        return _EMPTY

    async def SetPolicyAssignment(
        self, request: s.SetPolicyAssignmentRequest, context: Context
    ) -> empty_pb2.Empty:
        key = await self._assignment_key(request.assignment, context)
        assignment = policy_pb2.PolicyAssignment()
        assignment.CopyFrom(request.assignment)
        self.assignments[key] = assignment
        return _EMPTY

    async def DeletePolicyAssignment(
        self, request: s.DeletePolicyAssignmentRequest, context: Context
    ) -> empty_pb2.Empty:
        key = await self._assignment_key(request.assignment, context)
        current = self.assignments.get(key)
        if current is None:
            return _EMPTY
        if request.all:
            del self.assignments[key]
        else:
            drop = {p.name for p in request.assignment.policies}
            kept = [p for p in current.policies if p.name not in drop]
            del current.policies[:]
            current.policies.extend(kept)
        return _EMPTY

    async def ListPolicyAssignment(
        self, request: s.ListPolicyAssignmentRequest, context: Context
    ) -> AsyncIterator[s.ListPolicyAssignmentResponse]:
        for (name, direction), a in list(self.assignments.items()):
            if request.name in ("", name) and request.direction in (0, direction):
                yield s.ListPolicyAssignmentResponse(assignment=a)


class FakeGoBGP:
    """Handle on a running fake: ``target``, ``servicer`` and outage controls."""

    def __init__(self, servicer: FakeGoBGPServicer | None = None) -> None:
        """Create a stopped fake; ``start()`` binds 127.0.0.1 (port 0 the first time)."""
        self.servicer = servicer or FakeGoBGPServicer()
        self.port = 0
        self._server: grpc.aio.Server | None = None

    @property
    def target(self) -> str:
        """The gRPC target (valid once started)."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Serve on 127.0.0.1 (the same port after the first start)."""
        server = grpc.aio.server()
        service_pb2_grpc.add_GobgpApiServicer_to_server(self.servicer, server)
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        await server.start()
        self._server = server

    async def stop(self) -> None:
        """Stop serving at once; open streams break (gobgpd died)."""
        self.servicer.running.set()
        if self._server is not None:
            await self._server.stop(None)
            self._server = None

    async def restart(self) -> None:
        """Crash and come back empty on the same port (a gobgpd restart)."""
        await self.stop()
        self.servicer.reset()
        await self.start()

    def stall(self, stalled: bool = True) -> None:
        """Make GetBgp and new WatchEvent calls hang (``True``) or answer again."""
        if stalled:
            self.servicer.running.clear()
        else:
            self.servicer.running.set()


@contextlib.asynccontextmanager
async def serve_fake_gobgp() -> AsyncIterator[FakeGoBGP]:
    """Run a ``FakeGoBGP`` for the duration of the block."""
    fake = FakeGoBGP()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
