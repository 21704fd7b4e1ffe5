"""What the node-wide reconcilers (advertisements, route policies) share.

Both bring all objects of their kind into this node's GoBGP in one pass, keyed by one
request (the node's endpoint name), and both own a part of GoBGP's global policy
assignments.
"""

from __future__ import annotations

from dataclasses import dataclass

from bgpctl.controllers.gobgppolicy import Assignments
from bgpctl.controllers.nodestatus import NodeStatusWriter
from bgpctl.controllers.resources import field_manager
from bgpctl.gobgp.client import GoBGPClient
from bgpctl.runtime.cache.informers import InformerCache
from bgpctl.runtime.client.interfaces import ResourceType, Writer
from bgpctl.runtime.reconcile import Request
from bgpctl.runtime.recorder import EventRecorder


@dataclass(frozen=True, slots=True)
class NodeContext:
    """The node's cache, clients and identity.

    Attributes:
        cache: Informer cache of the six kinds.
        client: Writes the node's status entries.
        gobgp: The node's GoBGP.
        recorder: Events about what the node could not do.
        local_endpoint: The name of the node's BGPEndpoint.
        assignments: GoBGP's global assignments, shared by the reconcilers.
    """

    cache: InformerCache
    client: Writer
    gobgp: GoBGPClient
    recorder: EventRecorder
    local_endpoint: str
    assignments: Assignments

    def request(self) -> Request:
        """The one request a node-wide reconciler acts on (any request means "the node")."""
        return Request(name=self.local_endpoint)

    def status_writer(self, rt: ResourceType) -> NodeStatusWriter:
        """Writes this node's ``status.nodes[]`` entries of ``rt``."""
        me = self.local_endpoint
        return NodeStatusWriter(self.client, rt, node=me, manager=field_manager(me))

    async def gobgp_started(self) -> bool:
        """Whether GoBGP runs BGP (before StartBgp there is nothing to configure)."""
        return (await self.gobgp.get_bgp()).started
