"""ConfigurationReconciler: BGPConfiguration ``default`` -> this node's GoBGP global config.

One per node. It resolves the router ID, starts (or restarts) the speaker only when the
AS, router ID or listen port differ from what GoBGP runs, and reports in its own entry
of ``status.nodes[]`` (server-side apply on the status subresource with the field
manager ``bgpctl/<endpoint>``), so each status field has one writer.

Differences from the Go original (``docs/differences.md``):

- StartBgp only when the running config differs (the original restarted BGP at every
  pod start, dropping sessions and paths);
- it also watches the local BGPEndpoint, so an address change re-resolves the router ID
  (the original relied on error backoff);
- it writes only its node's entry, never the shared conditions (in the original
  every pod wrote them, each overwriting the others);
- objects other than ``default`` are ignored (the original acted on every object, several
  of which fought over one speaker; admission rejects them anyway);
- a router ID derived from an IPv6 address is a hash of the whole address, not its last
  32 bits (which collide for ``…:1::5`` and ``…:2::5``); see :func:`derive_router_id`.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from typing import Any

import structlog

from bgpctl.api.v1alpha1 import BGP_CONFIGURATION, BGP_ENDPOINT
from bgpctl.api.v1alpha1.configuration import BGPConfigurationSpec
from bgpctl.controllers.resources import (
    BGP_CONFIGURATIONS,
    BGP_ENDPOINTS,
    CONFIGURATION_NAME,
    field_manager,
)
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.gobgp.errors import GoBGPError
from bgpctl.gobgp.types import Global
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.errors import NotFound
from bgpctl.runtime.client.interfaces import Writer
from bgpctl.runtime.reconcile import Request, Result, TerminalError
from bgpctl.runtime.recorder import EventRecorder

log = structlog.get_logger(__name__)

_RESERVED_IDS = frozenset({0, 0xFFFFFFFF})


class RouterIDError(ValueError):
    """The router ID cannot be resolved from the user's objects."""


def derive_router_id(address: str) -> str:
    """A stable dotted-quad router ID for an endpoint address.

    An IPv4 address is its own router ID. An IPv6 address is hashed: the first four
    bytes of SHA-256 over its 16 packed bytes, read as a dotted quad (0.0.0.0 and
    255.255.255.255, which BGP forbids or reserves, are stepped over by rehashing). The
    same address always gives the same ID on every node and across restarts; two
    different addresses collide with probability 2^-32 per pair (about 1 in 8600 for a
    1000-node AS), instead of always when their last 32 bits agree, as with the Go
    original. Set ``routerIDSource: Manual`` where collisions must be impossible.

    Raises:
        RouterIDError: ``address`` is not an IP address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as err:
        raise RouterIDError(f"endpoint address {address!r} is not an IP address") from err
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    data = ip.packed
    while True:
        digest = hashlib.sha256(data).digest()
        value = int.from_bytes(digest[:4], "big")
        if value not in _RESERVED_IDS:
            return str(ipaddress.IPv4Address(value))
        data = digest  # pragma: no cover - a 2^-31 event


def resolve_router_id(spec: BGPConfigurationSpec, endpoint_address: str | None) -> str:
    """The router ID this node must run with.

    ``Manual`` takes ``spec.routerID``; ``NodeIP`` derives it from the local endpoint's
    address with :func:`derive_router_id`.

    Raises:
        RouterIDError: Manual without a router ID, or NodeIP without a usable address.
    """
    if spec.router_id_source == "Manual":
        if not spec.router_id:
            raise RouterIDError("routerIDSource is Manual but routerID is empty")
        return spec.router_id
    if endpoint_address is None:
        raise RouterIDError("routerIDSource is NodeIP but the local BGPEndpoint does not exist")
    return derive_router_id(endpoint_address)


def needs_start(running: Global, desired: Global) -> bool:
    """Whether GoBGP must be (re)started to run ``desired`` (never when it already does)."""
    return not running.started or (
        running.asn != desired.asn
        or running.router_id != desired.router_id
        or running.listen_port != desired.listen_port
    )


class ConfigurationReconciler:
    """Applies BGPConfiguration ``default`` to the local GoBGP.

    Args:
        cache: Informer cache (configurations, endpoints).
        client: Writes the node's status entry.
        gobgp: The local GoBGP.
        recorder: Events about bad input and failures.
        local_endpoint: The name of this node's BGPEndpoint.
        on_started: Called after every StartBgp (GoBGP then has no peers, paths or
            policies: the setup re-enqueues every per-node controller).
    """

    def __init__(
        self,
        *,
        cache: InformerCache,
        client: Writer,
        gobgp: GoBGPClient,
        recorder: EventRecorder,
        local_endpoint: str,
        on_started: Callable[[], None] = lambda: None,
    ) -> None:
        self._cache = cache
        self._client = client
        self._gobgp = gobgp
        self._recorder = recorder
        self._endpoint = local_endpoint
        self._on_started = on_started
        self._log = log.bind(endpoint=local_endpoint)

    def map_endpoint(self, obj: dict[str, Any]) -> list[Request]:
        """Endpoint events -> the configuration, when the endpoint is this node's."""
        name = (obj.get("metadata") or {}).get("name")
        return [Request(name=CONFIGURATION_NAME)] if name == self._endpoint else []

    async def reconcile(self, request: Request) -> Result:
        """See the module docstring."""
        if request.name != CONFIGURATION_NAME:
            return Result()
        try:
            raw = await self._cache.get(BGP_CONFIGURATIONS, request.name)
        except NotFound:
            self._log.info("no BGPConfiguration: leaving GoBGP as it is")
            return Result()
        try:
            spec = BGP_CONFIGURATION.parse(raw).spec
            router_id = resolve_router_id(spec, await self._endpoint_address())
        except ValueError as err:
            message = f"invalid configuration: {err}"
            await self._report(raw, ready=False, router_id=None, message=message)
            self._recorder.warning(raw, "InvalidConfiguration", f"{self._endpoint}: {message}")
            raise TerminalError(message) from err
        desired = Global(asn=spec.as_number, router_id=router_id, listen_port=spec.listen_port)
        try:
            running = await self._gobgp.get_bgp()
            if needs_start(running, desired):
                if running.started:
                    await self._gobgp.stop_bgp()
                await self._gobgp.start_bgp(desired)
                self._log.info("GoBGP started", asn=desired.asn, router_id=router_id)
                self._recorder.normal(
                    raw,
                    "SpeakerStarted",
                    f"{self._endpoint}: GoBGP started with AS {desired.asn} "
                    f"router-id {router_id} port {desired.listen_port}",
                )
                self._on_started()
        except GoBGPError as err:
            message = f"GoBGP: {err}"
            await self._report(raw, ready=False, router_id=router_id, message=message)
            self._recorder.warning(raw, "GoBGPError", f"{self._endpoint}: {message}")
            raise
        await self._report(raw, ready=True, router_id=router_id, message=None)
        return Result()

    async def _endpoint_address(self) -> str | None:
        try:
            raw = await self._cache.get(BGP_ENDPOINTS, self._endpoint)
        except NotFound:
            return None
        return BGP_ENDPOINT.parse(raw).spec.address

    async def _report(
        self, raw: dict[str, Any], *, ready: bool, router_id: str | None, message: str | None
    ) -> None:
        entry: dict[str, Any] = {"node": self._endpoint, "ready": ready}
        if router_id is not None:
            entry["routerID"] = router_id
        if message is not None:
            entry["message"] = message[:1024]
        current = [
            e
            for e in (raw.get("status") or {}).get("nodes") or []
            if e.get("node") == self._endpoint
        ]
        if current == [entry]:
            return  # no-op writes would only churn resourceVersions
        body = {
            "apiVersion": raw["apiVersion"],
            "kind": raw["kind"],
            "metadata": {"name": raw["metadata"]["name"]},
            "status": {"nodes": [entry]},
        }
        await self._client.status().apply(
            BGP_CONFIGURATIONS, body, field_manager=field_manager(self._endpoint), force=True
        )
