"""LeaseLock without a server: record <-> LeaseSpec mapping and the request timeout.

Mirrors client-go ``TestLeaseSpecToLeaderElectionRecordRoundTrip``. Error translation
is the KubeClient's (test_kube_adapter.py); the requests on the wire are in
test_leaselock_wire.py, the behaviour on a real API server in
test_leaselock_integration.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bgpctl.runtime.leaderelection import LeaderElectionRecord
from bgpctl.runtime.leaderelection.leaselock import (
    default_request_timeout,
    lease_spec_from_record,
    record_from_lease_spec,
)

STAMP = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
RECORD = LeaderElectionRecord(
    holder_identity="me",
    lease_duration_seconds=15,
    acquire_time=STAMP,
    renew_time=STAMP + timedelta(seconds=1),
    lease_transitions=7,
)


async def test_lease_spec_round_trip() -> None:
    spec = lease_spec_from_record(RECORD)
    assert spec == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "acquireTime": "2025-03-04T05:06:07.890123Z",
        "renewTime": "2025-03-04T05:06:08.890123Z",
        "leaseTransitions": 7,
    }
    assert record_from_lease_spec(spec) == RECORD


async def test_parsed_times_and_empty_fields() -> None:
    parsed = {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "acquireTime": RECORD.acquire_time,
        "renewTime": RECORD.renew_time,
        "leaseTransitions": 7,
    }
    assert record_from_lease_spec(parsed) == RECORD
    assert record_from_lease_spec(None) == LeaderElectionRecord("", 0)
    assert record_from_lease_spec({}) == LeaderElectionRecord("", 0)
    assert lease_spec_from_record(LeaderElectionRecord("", 1))["renewTime"] is None


async def test_zero_microseconds_are_written() -> None:
    spec = lease_spec_from_record(LeaderElectionRecord("me", 1, STAMP.replace(microsecond=0)))
    assert spec["acquireTime"] == "2025-03-04T05:06:07.000000Z"


async def test_request_timeout_is_half_the_renew_deadline() -> None:
    assert default_request_timeout(10) == 5
    assert default_request_timeout(1) == 1
