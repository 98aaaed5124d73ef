"""Retry timing shared by every caller of a remote service: back-off and ``Retry-After``.

The endpoint executor (``ragwacht.runners.execute``) and the LLM judge's client
(``ragwacht.metrics.judges.llm.client``) wait between attempts the same way: exponential
back-off with equal jitter, unless the server said how long to wait in a ``Retry-After``
header. Standard library only, so every layer may use it.
"""

from __future__ import annotations

import email.utils
import math
import random
import time


def backoff_delay(
    retry: int, *, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry number ``retry`` (1-based).

    Exponential (``base_s``, doubling per retry, at most ``cap_s``) with equal jitter: half of
    the delay is fixed and half is drawn uniformly, so the wait never drops below half the
    step while concurrent callers still spread apart.

    Args:
        retry: which retry this is; 1 for the first.
        base_s: delay step of the first retry.
        cap_s: the largest step.
        rng: source of the jitter (default: the ``random`` module).

    Returns:
        A delay in ``[step / 2, step]`` where ``step = min(cap_s, base_s * 2 ** (retry - 1))``.

    """
    r = rng or random
    step = min(cap_s, base_s * 2 ** (retry - 1))
    return step / 2 + r.uniform(0, step / 2)


def retry_after_seconds(
    value: str | float | None, *, cap_s: float, now: float | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP date.

    A date in the past means "now" (0). A negative, non-finite or unreadable value is ignored
    (None), as is an absent or empty one; the caller then falls back to its back-off.

    Args:
        value: the header's value (or a number already read from it).
        cap_s: the longest wait returned; ``math.inf`` for none (the caller then decides
            what to do with a long wait).
        now: the current time as a POSIX timestamp (default: the clock), for HTTP dates.

    Returns:
        The wait in seconds, at most ``cap_s``, or None.

    """
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    try:
        secs = float(value)
    except ValueError:
        if not isinstance(value, str):
            return None
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None:
            return None
        secs = max(0.0, when.timestamp() - (time.time() if now is None else now))
    if not math.isfinite(secs) or secs < 0:
        return None
    return min(cap_s, secs)
