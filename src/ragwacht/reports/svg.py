"""Small inline SVG charts: sparkline, horizontal bars, labelled scatter.

Every chart is an ``<svg role="img">`` with an ``aria-label`` and a ``<title>`` so screen
readers announce what it shows; the report always puts the same numbers in a table beside it.
Colours come from CSS classes (the report's palette), never from inline styles, so the
contrast test covers them. Every text that reaches the SVG is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Formatter = Callable[[float | None], str]


def _f(x: float) -> str:
    # Compact coordinates keep a report with hundreds of charts small.
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _open(width: float, height: float, label: str, cls: str) -> str:
    lab = escape(label)
    return (
        f'<svg class="chart {cls}" role="img" aria-label="{lab}" width="{_f(width)}" '
        f'height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{lab}</title>'
    )


def sparkline(
    values: Sequence[float | None],
    *,
    label: str,
    width: float = 160,
    height: float = 36,
    lo: float | None = None,
    hi: float | None = None,
) -> Markup:
    """A line over ``values`` (oldest first) with the last point emphasised.

    Missing values break the line instead of dropping to zero.

    Args:
        values: one value per run, ``None`` where the run has no value.
        label: the accessible name (also the ``<title>``).
        width: width in px.
        height: height in px.
        lo: bottom of the scale (default: the smallest value).
        hi: top of the scale (default: the largest value).

    """
    pts = [v for v in values if v is not None and math.isfinite(v)]
    out = [_open(width, height, label, "sparkline")]
    if pts:
        vmin = min(pts) if lo is None else lo
        vmax = max(pts) if hi is None else hi
        span = (vmax - vmin) or 1.0
        pad = 4.0
        n = len(values)
        step = (width - 2 * pad) / max(n - 1, 1)

        def xy(i: int, v: float) -> tuple[float, float]:
            y = height - pad - (v - vmin) / span * (height - 2 * pad)
            return pad + i * step, y

        segments: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(values):
            if v is None or not math.isfinite(v):
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append(xy(i, v))
        for seg in segments:
            if len(seg) >= 2:
                d = " ".join(f"{_f(x)},{_f(y)}" for x, y in seg)
                out.append(f'<polyline class="line" points="{d}"/>')
        last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
        if last is not None:
            x, y = xy(last[0], last[1])
            out.append(f'<circle class="dot" cx="{_f(x)}" cy="{_f(y)}" r="3"/>')
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Bar:
    """One bar: a label, a value (None = not scored) and an optional interval."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None


def bar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    fmt: Formatter,
    vmax: float = 1.0,
    width: float = 420,
    row: float = 22,
    label_width: float = 130,
    not_scored: str = "–",
) -> Markup:
    """Horizontal bars with the value written at the end of each bar.

    Args:
        bars: the bars, top to bottom.
        label: the accessible name (also the ``<title>``).
        fmt: formats a value for the text beside the bar.
        vmax: value of a full-width bar.
        width: total width in px.
        row: height of one row in px.
        label_width: width reserved for the bar labels.
        not_scored: text shown for a bar without a value.

    """
    height = row * len(bars) + 4
    plot = width - label_width - 56
    out = [_open(width, height, label, "bars")]
    for i, b in enumerate(bars):
        y = 2 + i * row
        text = escape(b.label if len(b.label) <= 20 else b.label[:19] + "…")
        out.append(
            f'<text class="lbl" x="{_f(label_width - 6)}" y="{_f(y + row * 0.68)}" '
            f'text-anchor="end">{text}</text>'
        )
        if b.value is None or not math.isfinite(b.value):
            out.append(
                f'<text class="val" x="{_f(label_width)}" y="{_f(y + row * 0.68)}">'
                f"{escape(not_scored)}</text>"
            )
            continue
        frac = max(0.0, min(1.0, b.value / vmax)) if vmax else 0.0
        w = max(frac * plot, 1.0)
        out.append(
            f'<rect class="bar" x="{_f(label_width)}" y="{_f(y + 4)}" width="{_f(w)}" '
            f'height="{_f(row - 8)}"/>'
        )
        if b.low is not None and b.high is not None and vmax:
            x1 = label_width + max(0.0, min(1.0, b.low / vmax)) * plot
            x2 = label_width + max(0.0, min(1.0, b.high / vmax)) * plot
            ym = y + row / 2
            out.append(
                f'<path class="ci" d="M{_f(x1)} {_f(ym)}H{_f(x2)}M{_f(x1)} {_f(ym - 4)}'
                f'V{_f(ym + 4)}M{_f(x2)} {_f(ym - 4)}V{_f(ym + 4)}"/>'
            )
        out.append(
            f'<text class="val" x="{_f(label_width + plot + 6)}" y="{_f(y + row * 0.68)}">'
            f"{escape(fmt(b.value))}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Point:
    """One labelled point of a scatter chart."""

    label: str
    x: float | None
    y: float | None
    emphasis: bool = False


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step) * step
    out: list[float] = []
    v = start
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def scatter(
    points: Sequence[Point],
    *,
    label: str,
    x_label: str,
    y_label: str,
    fmt_x: Formatter,
    fmt_y: Formatter,
    width: float = 520,
    height: float = 300,
) -> Markup:
    """A scatter of labelled points with axes and tick labels.

    Points without both coordinates are left out of the drawing (the table beside the chart
    still lists them).

    Args:
        points: the points; ``emphasis`` draws the reference point differently.
        label: the accessible name (also the ``<title>``).
        x_label: axis title below the plot.
        y_label: axis title left of the plot.
        fmt_x: formats x tick labels.
        fmt_y: formats y tick labels.
        width: width in px.
        height: height in px.

    """
    left, right, top, bottom = 64.0, 24.0, 16.0, 48.0
    pw, ph = width - left - right, height - top - bottom
    drawn = [p for p in points if p.x is not None and p.y is not None]
    out = [_open(width, height, label, "scatter")]
    out.append(f'<path class="axis" d="M{_f(left)} {_f(top)}V{_f(top + ph)}H{_f(left + pw)}"/>')
    out.append(
        f'<text class="axt" x="{_f(left + pw / 2)}" y="{_f(height - 8)}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text class="axt" x="14" y="{_f(top + ph / 2)}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_f(top + ph / 2)})">{escape(y_label)}</text>'
    )
    if drawn:
        xs = [p.x for p in drawn if p.x is not None]
        ys = [p.y for p in drawn if p.y is not None]
        x0, x1 = min(0.0, min(xs)), max(xs) * 1.15 or 1.0
        y0, y1 = min(ys), max(ys)
        pad = (y1 - y0) * 0.2 or 0.05
        y0, y1 = max(0.0, y0 - pad), min(1.0, y1 + pad) if y1 <= 1.0 else y1 + pad
        if y1 <= y0:
            y1 = y0 + 0.1

        def px(v: float) -> float:
            return left + (v - x0) / (x1 - x0) * pw

        def py(v: float) -> float:
            return top + ph - (v - y0) / (y1 - y0) * ph

        for t in _ticks(x0, x1):
            out.append(
                f'<text class="tick" x="{_f(px(t))}" y="{_f(top + ph + 16)}" '
                f'text-anchor="middle">{escape(fmt_x(t))}</text>'
            )
        for t in _ticks(y0, y1):
            out.append(
                f'<path class="grid" d="M{_f(left)} {_f(py(t))}H{_f(left + pw)}"/>'
                f'<text class="tick" x="{_f(left - 6)}" y="{_f(py(t) + 4)}" '
                f'text-anchor="end">{escape(fmt_y(t))}</text>'
            )
        for p in drawn:
            assert p.x is not None and p.y is not None
            cx, cy = px(p.x), py(p.y)
            cls = "pt ref" if p.emphasis else "pt"
            shape = (
                f'<rect class="{cls}" x="{_f(cx - 5)}" y="{_f(cy - 5)}" width="10" height="10"/>'
                if p.emphasis
                else f'<circle class="{cls}" cx="{_f(cx)}" cy="{_f(cy)}" r="5.5"/>'
            )
            anchor = "end" if cx > left + pw * 0.7 else "start"
            dx = -9 if anchor == "end" else 9
            out.append(
                shape + f'<text class="ptl" x="{_f(cx + dx)}" y="{_f(cy - 8)}" '
                f'text-anchor="{anchor}">{escape(p.label)}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))
