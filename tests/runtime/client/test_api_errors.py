"""The API error tree: Status → class, predicates, and the translating context manager.

Mirrors apimachinery ``api/errors`` (``TestErrorNew``, ``TestFromObject`` and the
``Is*`` predicates). The kube adapter's translation of library exceptions is tested in
``test_kube_adapter.py``; real server answers in the integration tests.
"""

from __future__ import annotations

import pytest

from bgpctl.runtime.client import errors as e


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        ({"code": 404, "reason": "NotFound"}, e.NotFound),
        ({"code": 409, "reason": "AlreadyExists"}, e.AlreadyExists),
        ({"code": 409, "reason": "Conflict"}, e.Conflict),
        ({"code": 410, "reason": "Expired"}, e.Expired),
        ({"code": 410, "reason": "Gone"}, e.Gone),
        ({"code": 422, "reason": "Invalid"}, e.Invalid),
        ({"code": 429, "reason": "TooManyRequests"}, e.TooManyRequests),
        ({"code": 500, "reason": "InternalError"}, e.InternalError),
        ({"code": 500, "reason": "ServerTimeout"}, e.ServerTimeout),
        ({"code": 504, "reason": "Timeout"}, e.ServerTimeout),
        ({"code": 503, "reason": "ServiceUnavailable"}, e.ServiceUnavailable),
        ({"code": 401, "reason": "Unauthorized"}, e.Unauthorized),
        ({"code": 403, "reason": "Forbidden"}, e.Forbidden),
        ({"code": 403}, e.Forbidden),
        ({"code": 418, "reason": "Teapot"}, e.ApiError),
    ],
)
def test_status_maps_to_the_most_specific_class(status: dict, cls: type) -> None:
    err = e.from_status({"message": "m", **status})
    assert type(err) is cls
    assert err.code == status["code"]
    assert err.message == "m"


def test_http_code_is_used_when_the_body_is_not_a_status() -> None:
    err = e.from_status(None, code=404, message="page not found")
    assert isinstance(err, e.NotFound) and err.message == "page not found"


def test_invalid_carries_field_causes() -> None:
    err = e.from_status(
        {
            "code": 422,
            "reason": "Invalid",
            "message": "bad",
            "details": {
                "causes": [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Required value",
                        "field": "spec.asn",
                    }
                ]
            },
        }
    )
    assert e.is_invalid(err)
    assert err.causes == [e.StatusCause("FieldValueRequired", "Required value", "spec.asn")]


def test_predicates() -> None:
    conflict = e.Conflict("x", reason="Conflict")
    exists = e.AlreadyExists("x", reason="AlreadyExists")
    assert e.is_conflict(conflict) and not e.is_conflict(exists)
    assert e.is_already_exists(exists)
    assert e.is_expired(e.Expired("old")) and e.is_expired(e.Gone("gone"))
    assert e.is_retriable(e.TooManyRequests("x"))
    assert e.is_retriable(e.ConnectionRefused("x")) and e.is_connection_refused(
        e.ConnectionRefused("x")
    )
    assert e.is_retriable(e.ServiceUnavailable("x")) and not e.is_retriable(e.NotFound("x"))
    assert e.is_forbidden(e.Forbidden("x")) and e.is_unauthorized(e.Unauthorized("x"))
    assert e.is_server_timeout(e.ServerTimeout("x")) and e.is_internal_error(e.InternalError("x"))
    assert e.is_service_unavailable(e.ServiceUnavailable("x"))
    assert e.is_too_many_requests(e.TooManyRequests("x"))
    assert not e.is_not_found(ValueError())


def test_too_large_resource_version_by_cause_or_message() -> None:
    by_cause = e.from_status(
        {
            "code": 504,
            "reason": "Timeout",
            "details": {"causes": [{"reason": "ResourceVersionTooLarge"}]},
        }
    )
    by_message = e.from_status(
        {"code": 504, "reason": "Timeout", "message": "Too large resource version: 9"}
    )
    assert e.is_too_large_resource_version(by_cause)
    assert e.is_too_large_resource_version(by_message)
    assert not e.is_too_large_resource_version(e.ServerTimeout("slow"))


def test_retry_after_seconds() -> None:
    err = e.from_status(
        {"code": 429, "reason": "TooManyRequests", "details": {"retryAfterSeconds": 3}}
    )
    assert err.retry_after == 3.0
    assert e.NotFound("x").retry_after is None


def test_map_api_errors_translates_and_chains() -> None:
    def translate(exc: Exception) -> e.ApiError | None:
        return e.NotFound("gone") if isinstance(exc, KeyError) else None

    with pytest.raises(e.NotFound) as info, e.map_api_errors(translate):
        raise KeyError("k")
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(ValueError), e.map_api_errors(translate):
        raise ValueError("untouched")
    original = e.Conflict("c")
    with pytest.raises(e.Conflict) as again, e.map_api_errors(translate):
        raise original
    assert again.value is original


def test_to_status_round_trips() -> None:
    err = e.Expired("too old", reason="Expired", details={"name": "x"})
    back = e.from_status(e.to_status(err))
    assert type(back) is e.Expired and back.message == "too old" and back.details == {"name": "x"}
    assert str(err) == "(410 Expired) too old"
