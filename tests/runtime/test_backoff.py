"""The one backoff schedule: delays, steps, cap, jitter; the manager; retry with deadline.

Re-derived from apimachinery ``wait`` backoff tests (``TestBackoff_Step``, the
exponential backoff manager) and client-go ``retry_with_deadline_test.go``. The manager
and the deadline read the loop clock, so they run on looptime.
"""

from __future__ import annotations

import asyncio

import pytest

from bgpctl.runtime.backoff import Backoff, BackoffManager, RetryWithDeadline
from bgpctl.runtime.cache.reflector import DEFAULT_BACKOFF, DEFAULT_BACKOFF_RESET
from bgpctl.runtime.client.errors import InternalError, NotFound, is_internal_error


def test_delay_grows_by_factor_up_to_cap() -> None:
    backoff = Backoff(duration=0.5, factor=2.0, cap=60.0)
    assert [backoff.delay(n) for n in range(9)] == [0.5, 1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(10_000) == 60.0  # no overflow however long it fails


def test_constant_when_factor_is_one_or_zero() -> None:
    assert [Backoff(duration=1.0).delay(n) for n in range(3)] == [1.0, 1.0, 1.0]
    assert [Backoff(duration=1.0, factor=0.0).delay(n) for n in range(3)] == [1.0, 1.0, 1.0]


def test_jitter_only_lengthens() -> None:
    backoff = Backoff(duration=1.0, jitter=0.25)
    assert backoff.delay(0, rng=lambda: 0.0) == 1.0
    assert backoff.delay(0, rng=lambda: 0.999) == pytest.approx(1.24975)


def test_steps_bound_the_delays_and_zero_means_endless() -> None:
    assert len(list(Backoff(duration=1.0, steps=4).delays())) == 3
    endless = Backoff(duration=1.0, factor=2.0, cap=4.0).delays()
    assert [next(endless) for _ in range(100)][-3:] == [4.0, 4.0, 4.0]


def reflector_manager(rng: float = 0.0) -> BackoffManager:
    return BackoffManager(DEFAULT_BACKOFF, reset_after=DEFAULT_BACKOFF_RESET, rng=lambda: rng)


@pytest.mark.looptime
async def test_reflector_backoff_doubles_from_0_8_to_a_30_s_cap() -> None:
    backoff = reflector_manager()
    delays = []
    for _ in range(8):
        delays.append(backoff.step())
        await asyncio.sleep(1.0)
    assert delays == [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]


def test_reflector_backoff_jitter_extends_up_to_double() -> None:
    assert reflector_manager(rng=0.5).step() == pytest.approx(1.2)
    assert 1.59 < reflector_manager(rng=0.999).step() < 1.6


@pytest.mark.looptime
async def test_manager_resets_after_two_quiet_minutes() -> None:
    backoff = reflector_manager()
    assert [backoff.step(), backoff.step(), backoff.step()] == [0.8, 1.6, 3.2]
    await asyncio.sleep(120.0)
    assert backoff.step() == 6.4  # exactly 2 min is not "more than"
    await asyncio.sleep(120.5)
    assert backoff.step() == 0.8


def internal() -> InternalError:
    return InternalError("boom", reason="InternalError")


def test_retry_with_deadline_zero_never_retries() -> None:
    retry = RetryWithDeadline(0.0, 60.0, is_internal_error)
    retry.after(internal())
    assert not retry.should_retry()


@pytest.mark.looptime
async def test_retry_with_deadline_window_closes_and_starts_over() -> None:
    """TestRetryWithDeadline: retries within the window, not after it, then anew."""
    retry = RetryWithDeadline(10.0, 60.0, is_internal_error)
    retry.after(internal())
    assert retry.should_retry()
    await asyncio.sleep(5.0)
    retry.after(internal())
    assert retry.should_retry()
    await asyncio.sleep(6.0)
    retry.after(internal())
    assert not retry.should_retry()  # 11 s since the first: closed, and reset
    retry.after(internal())
    assert retry.should_retry()  # a new window opened by this error


@pytest.mark.looptime
async def test_retry_with_deadline_resets_after_a_quiet_period() -> None:
    # The window is set once and never reset without min_reset_period: a 500 an hour
    # after the last one must get its own window, not find an old one closed.
    retry = RetryWithDeadline(10.0, 60.0, is_internal_error)
    retry.after(internal())
    assert retry.should_retry()
    await asyncio.sleep(3600.0)
    retry.after(internal())
    assert retry.should_retry()


def test_retry_with_deadline_ignores_other_errors() -> None:
    retry = RetryWithDeadline(10.0, 60.0, is_internal_error)
    retry.after(NotFound("gone", reason="NotFound"))
    assert not retry.should_retry()  # no window was opened
