"""Retry timing: exponential back-off with equal jitter, and Retry-After in both forms."""

from __future__ import annotations

import math
import random
import time
from email.utils import formatdate

import pytest

from ragwacht._retry import backoff_delay, retry_after_seconds


@pytest.mark.parametrize(
    ("retry", "step"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 5.0), (12, 5.0)]
)
def test_backoff_stays_between_half_and_the_whole_step(retry: int, step: float) -> None:
    rng = random.Random(7)
    delays = [backoff_delay(retry, base_s=0.5, cap_s=5.0, rng=rng) for _ in range(2000)]
    assert all(step / 2 <= d <= step for d in delays)
    # Jittered over the whole random half: both ends of it are reached.
    assert min(delays) < step / 2 + step * 0.02
    assert max(delays) > step - step * 0.02
    # Equal jitter: the mean sits at three quarters of the step.
    assert sum(delays) / len(delays) == pytest.approx(0.75 * step, rel=0.03)


def test_backoff_never_exceeds_the_cap() -> None:
    rng = random.Random(3)
    assert all(backoff_delay(r, base_s=1.0, cap_s=8.0, rng=rng) <= 8.0 for r in range(1, 40))
    assert backoff_delay(3, base_s=0.0, cap_s=8.0, rng=rng) == 0.0


def test_backoff_with_the_same_seed_repeats() -> None:
    a = [backoff_delay(2, base_s=1.0, cap_s=8.0, rng=random.Random(11)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_backoff_without_rng_uses_the_random_module() -> None:
    assert 1.0 <= backoff_delay(2, base_s=1.0, cap_s=8.0) <= 2.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), (" 12 ", 12.0), ("0", 0.0), ("1.5", 1.5), (3, 3.0), (2.5, 2.5), ("90", 60.0)],
)
def test_retry_after_as_seconds(value: str | float, expected: float) -> None:
    assert retry_after_seconds(value, cap_s=60.0) == expected


def test_retry_after_uncapped_with_inf() -> None:
    assert retry_after_seconds("3600", cap_s=math.inf) == 3600.0


def test_retry_after_as_http_date() -> None:
    now = time.time()
    header = formatdate(now + 30, usegmt=True)
    assert retry_after_seconds(header, cap_s=60.0, now=now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(header, cap_s=10.0, now=now) == 10.0
    # A date already past means: try again now.
    past = formatdate(now - 30, usegmt=True)
    assert retry_after_seconds(past, cap_s=60.0, now=now) == 0.0


def test_retry_after_http_date_against_the_clock() -> None:
    header = formatdate(time.time() + 20, usegmt=True)
    got = retry_after_seconds(header, cap_s=60.0)
    assert got is not None and 17 <= got <= 20


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "soon", "-5", -1.0, "nan", "inf", float("inf"), "12 seconds", "Mon, 99"],
)
def test_retry_after_ignores_garbage(value: str | float | None) -> None:
    assert retry_after_seconds(value, cap_s=60.0) is None
