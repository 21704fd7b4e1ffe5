"""Construction-time validation of LeaderElector (client-go ``NewLeaderElector``).

Covers every rejected configuration and the accepted defaults; nothing runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from bgpctl.runtime.leaderelection import (
    DEFAULT_LEASE_DURATION,
    DEFAULT_RENEW_DEADLINE,
    DEFAULT_RETRY_PERIOD,
    LeaderCallbacks,
    LeaderElectionConfig,
    LeaderElector,
    new_identity,
)
from bgpctl.testing.leaselock import InMemoryLeaseServer


async def _lead() -> None:
    pass


def _config(identity: str = "a", **overrides: Any) -> LeaderElectionConfig:
    callbacks = overrides.pop(
        "callbacks", LeaderCallbacks(on_started_leading=_lead, on_stopped_leading=lambda: None)
    )
    return LeaderElectionConfig(
        lock=InMemoryLeaseServer().lock(identity), callbacks=callbacks, **overrides
    )


async def test_defaults_are_controller_runtimes() -> None:
    config = _config()
    assert (config.lease_duration, config.renew_deadline, config.retry_period) == (15, 10, 2)
    assert (DEFAULT_LEASE_DURATION, DEFAULT_RENEW_DEADLINE, DEFAULT_RETRY_PERIOD) == (15, 10, 2)
    LeaderElector(config)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"lease_duration": 10.0}, "lease_duration must be greater", id="lease==renew"),
        pytest.param({"lease_duration": 5.0}, "lease_duration must be greater", id="lease<renew"),
        pytest.param(
            {"retry_period": 10 / 1.2}, "renew_deadline must be greater", id="renew==1.2*retry"
        ),
        pytest.param(
            {"lease_duration": 0.9, "renew_deadline": 0.5, "retry_period": 0.1},
            "at least 1 second",
            id="sub-second lease",
        ),
        pytest.param(
            {"renew_deadline": 0.0, "retry_period": -1.0}, "renew_deadline must be greater than z"
        ),
        pytest.param({"retry_period": 0.0}, "retry_period must be greater than zero"),
        pytest.param(
            {"callbacks": LeaderCallbacks(on_started_leading=None, on_stopped_leading=print)},  # type: ignore[arg-type]
            "on_started_leading",
        ),
        pytest.param(
            {"callbacks": LeaderCallbacks(on_started_leading=_lead, on_stopped_leading=None)},  # type: ignore[arg-type]
            "on_stopped_leading",
        ),
    ],
)
async def test_invalid_configurations_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LeaderElector(_config(**overrides))


async def test_empty_identity_is_rejected() -> None:
    with pytest.raises(ValueError, match="identity is empty"):
        LeaderElector(_config(identity=""))


async def test_new_identity_is_hostname_and_uuid() -> None:
    first, second = new_identity(), new_identity()
    assert first != second
    host, _, suffix = first.rpartition("_")
    assert host and len(suffix) == 36
