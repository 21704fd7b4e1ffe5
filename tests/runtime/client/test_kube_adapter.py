"""The kube adapter's pure parts: REST paths, exception translation, watch lines, Retry-After.

Everything that talks to a server is in ``test_kube_integration.py``.
"""

from __future__ import annotations

import errno
import json
from types import SimpleNamespace

import aiohttp
import pytest
from kubernetes_asyncio.client.exceptions import ApiException

from bgpctl.runtime.client import errors as e
from bgpctl.runtime.client.interfaces import (
    EVENTS,
    LEASES,
    NAMESPACES,
    ResourceType,
    WatchEventType,
)
from bgpctl.runtime.client.kube import _translate
from bgpctl.runtime.client.rest import (
    parse_watch_line,
    resource_path,
    retry_after_delay,
    status_error,
)

SESSIONS = ResourceType(
    "bgp.miloapis.com", "v1alpha1", "bgpsessions", "BGPSession", namespaced=False
)


@pytest.mark.parametrize(
    ("rt", "ns", "name", "sub", "path"),
    [
        (SESSIONS, None, None, None, "/apis/bgp.miloapis.com/v1alpha1/bgpsessions"),
        (
            SESSIONS,
            "ignored",
            "s1",
            "status",
            "/apis/bgp.miloapis.com/v1alpha1/bgpsessions/s1/status",
        ),
        (EVENTS, "default", "e.1", None, "/api/v1/namespaces/default/events/e.1"),
        (EVENTS, None, None, None, "/api/v1/events"),
        (NAMESPACES, None, "kube-system", None, "/api/v1/namespaces/kube-system"),
        (
            LEASES,
            "bgp-system",
            "lock",
            None,
            "/apis/coordination.k8s.io/v1/namespaces/bgp-system/leases/lock",
        ),
    ],
)
def test_rest_paths(rt, ns, name, sub, path) -> None:  # type: ignore[no-untyped-def]
    assert resource_path(rt, ns, name, sub) == path


def test_resource_type_api_version() -> None:
    assert SESSIONS.api_version == "bgp.miloapis.com/v1alpha1"
    assert EVENTS.api_version == "v1"


def _api_exception(status: int, body: dict | str, headers: dict | None = None) -> ApiException:
    exc = ApiException(status=status, reason="reason")
    exc.body = body if isinstance(body, str) else json.dumps(body)
    exc.headers = headers
    return exc


def test_api_exception_with_status_body() -> None:
    status = {"kind": "Status", "code": 409, "reason": "AlreadyExists", "message": "exists"}
    err = _translate(_api_exception(409, status))
    assert isinstance(err, e.AlreadyExists) and err.message == "exists"


def test_api_exception_without_status_body_and_retry_after_header() -> None:
    err = _translate(_api_exception(429, "slow down", {"Retry-After": "7"}))
    assert isinstance(err, e.TooManyRequests)
    assert err.retry_after == 7.0


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_api_exception(404, {"kind": "Status", "code": 404, "reason": "NotFound"}), e.NotFound),
        (_api_exception(409, {"kind": "Status", "code": 409, "reason": "Conflict"}), e.Conflict),
        (_api_exception(403, {"kind": "Status", "code": 403, "reason": "Forbidden"}), e.Forbidden),
        (ConnectionResetError(), e.ApiConnectionError),
    ],
)
def test_what_the_lease_lock_relies_on(exc: Exception, expected: type[Exception]) -> None:
    assert type(_translate(exc)) is expected


def test_connection_errors() -> None:
    refused = aiohttp.ClientConnectorError(
        connection_key=SimpleNamespace(host="127.0.0.1", port=1, ssl=True),  # type: ignore[arg-type]
        os_error=OSError(errno.ECONNREFUSED, "refused"),
    )
    assert isinstance(_translate(refused), e.ConnectionRefused)
    assert isinstance(_translate(ConnectionRefusedError()), e.ConnectionRefused)
    assert type(_translate(aiohttp.ServerDisconnectedError())) is e.ApiConnectionError
    assert type(_translate(TimeoutError())) is e.ApiConnectionError
    assert _translate(ValueError()) is None


def test_watch_lines_become_events() -> None:
    parse = parse_watch_line
    ev = parse(SESSIONS, b'{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n')
    assert ev.type is WatchEventType.ADDED and ev.object["kind"] == "BGPSession"
    err = parse(SESSIONS, b'{"type":"ERROR","object":{"code":410,"reason":"Expired"}}')
    assert err.type is WatchEventType.ERROR and "kind" not in err.object
    assert parse(SESSIONS, b"  \n") is None
    assert parse(SESSIONS, b'{"type":"FUTURE","object":{}}') is None
    with pytest.raises(e.Gone):
        parse(SESSIONS, b'{"kind":"Status","code":410,"reason":"Gone"}')
    with pytest.raises(e.ApiConnectionError):
        parse(SESSIONS, b"{not json")


def test_retry_after_answers_are_repeated_like_client_go() -> None:
    throttled = e.TooManyRequests("x", details={"retryAfterSeconds": 2})
    unavailable = e.ServiceUnavailable("x", details={"retryAfterSeconds": 60})
    assert retry_after_delay(throttled, "POST") == 2.0
    assert retry_after_delay(unavailable, "GET") == 10.0  # capped
    assert retry_after_delay(unavailable, "PUT") is None  # not idempotent
    assert retry_after_delay(e.TooManyRequests("no header"), "GET") is None


def test_non_status_error_bodies() -> None:
    assert isinstance(
        status_error(b"<html>", code=503, reason="Service Unavailable"), e.ServiceUnavailable
    )
    err = status_error(
        b'{"kind":"Status","code":403,"reason":"Forbidden","message":"no"}', code=403, reason=""
    )
    assert isinstance(err, e.Forbidden) and err.message == "no"
