"""Leader election over a lease (client-go ``tools/leaderelection``).

The elector and the record are exported here. ``LeaseLock`` lives in
:mod:`bgpctl.runtime.leaderelection.leaselock` and is imported from there by the wiring
only, so that importing the runtime does not import kubernetes-asyncio.
"""

from bgpctl.runtime.leaderelection.elector import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    JITTER_FACTOR,
    LeaderCallbacks,
    LeaderElectionConfig,
    LeaderElectionUnhealthyError,
    LeaderElector,
    SwitchMetric,
    new_identity,
)
from bgpctl.runtime.leaderelection.record import LeaderElectionRecord, ResourceLock

__all__ = [
    "DEFAULT_LEASE_DURATION",
    "DEFAULT_RENEW_DEADLINE",
    "DEFAULT_RETRY_PERIOD",
    "JITTER_FACTOR",
    "LeaderCallbacks",
    "LeaderElectionConfig",
    "LeaderElectionRecord",
    "LeaderElectionUnhealthyError",
    "LeaderElector",
    "ResourceLock",
    "SwitchMetric",
    "new_identity",
]
