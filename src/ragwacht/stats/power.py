"""What drop a set of a given size can detect: a rough guide shown in reports."""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.optimize import brentq
from scipy.stats import norm


def min_detectable_drop(
    n: int,
    p: float,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    discordance: float | None = None,
) -> float:
    """Smallest drop of a rate that a one-sided test at ``alpha`` detects with ``power``.

    Without ``discordance`` this is the normal approximation for a rate ``p`` measured on ``n``
    cases against a fixed reference, ``(z[1-alpha] + z[power]) * sqrt(p (1 - p) / n)``: with
    50 cases at p = 0.8 about 14 points, with 500 cases about 4.5. For a score in [0, 1] with
    mean ``p`` the variance is at most ``p (1 - p)``, so the value is conservative for scores.

    With ``discordance`` (the share of cases expected to differ between the two paired runs,
    e.g. the observed pass/fail flips), Connor's (1987) discordant-pair approximation for a
    paired test is used instead: the drop ``d`` that solves
    ``sqrt(n) d = z[1-alpha] sqrt(psi) + z[power] sqrt(psi - d^2)``. Runs that rarely disagree
    detect much smaller drops than this unpaired view suggests.

    Either way the drop is at least ``ceil(log2(1 / alpha)) / n``: a sign-flip test needs that
    many cases that all got worse before it can reject at all.

    Args:
        n: cases (pairs).
        p: the rate (or mean score) before the drop, in [0, 1].
        alpha: one-sided significance level.
        power: probability of detecting the drop.
        discordance: expected share of discordant pairs, in (0, 1].

    Returns:
        The drop in absolute points on the 0..1 scale (``inf`` when ``n`` is too small to ever
        reject), capped at 1.

    """
    if n < 1:
        return math.inf
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError("alpha and power must lie strictly between 0 and 1")
    za = float(norm.ppf(1.0 - alpha))
    zb = float(norm.ppf(power))
    floor = math.ceil(math.log2(1.0 / alpha)) / n
    if floor > 1.0:
        return math.inf
    if discordance is None:
        drop = (za + zb) * math.sqrt(p * (1.0 - p) / n)
    else:
        if not 0.0 < discordance <= 1.0:
            raise ValueError(f"discordance must lie in (0, 1], got {discordance}")
        psi = discordance
        root_n = math.sqrt(n)

        def f(d: float) -> float:
            return root_n * d - za * math.sqrt(psi) - zb * math.sqrt(max(0.0, psi - d * d))

        hi = math.sqrt(psi)
        if f(hi) < 0:
            return math.inf
        drop = float(brentq(f, 0.0, hi))
    return min(1.0, max(drop, floor))


def paired_min_detectable_drop(
    diffs: Sequence[float],
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest mean drop the gate's paired one-sided test detects with ``power``.

    The gate tests the per-case differences ``d_i = current_i - baseline_i`` of the cases
    both runs scored. Its sign-flip test is, for the sizes a golden set has, close to the
    paired t/z test on those differences, whose smallest detectable mean shift is

    ``MDD = (z[1 - alpha] + z[power]) * SD(d) / sqrt(n)``

    with ``SD(d)`` the sample standard deviation of the observed differences (``n - 1`` in
    the denominator) and ``n`` the number of pairs. Two runs that agree on most cases have a
    small ``SD(d)`` and so detect far smaller drops than :func:`min_detectable_drop`'s
    unpaired view of one run suggests; this is the figure that matches the gate's decisions.
    The observed SD stands in for the SD under the alternative, so the value describes "a
    drop of this size, with differences as spread as these".

    As in :func:`min_detectable_drop`, the drop is at least ``ceil(log2(1 / alpha)) / n``
    (a sign-flip test needs that many cases that all got worse before it can reject), and
    at most 1.

    Args:
        diffs: per-case paired differences (any sign convention: only their spread counts).
        alpha: one-sided significance level of the test (the gate's ``alpha``; with Holm
            the first metric is tested at ``alpha / m``, so pass that for the strictest view).
        power: probability of detecting the drop.

    Returns:
        The drop on the metric's own scale (``inf`` when there are too few pairs to ever
        reject).

    """
    n = len(diffs)
    if n < 2:
        return math.inf
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError("alpha and power must lie strictly between 0 and 1")
    floor = math.ceil(math.log2(1.0 / alpha)) / n
    if floor > 1.0:
        return math.inf
    mean = math.fsum(diffs) / n
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / (n - 1))
    za = float(norm.ppf(1.0 - alpha))
    zb = float(norm.ppf(power))
    drop = (za + zb) * sd / math.sqrt(n)
    return min(1.0, max(drop, floor))
