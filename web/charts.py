"""Small server-rendered SVG charts for the account page and the weekly review:
no JavaScript, no inline styles (the CSP forbids them), every label escaped.

Imports markupsafe only.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD, AXIS = 560, 200, 24, 28


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    unit: str = "",
) -> Markup:
    """Grouped bars: one group per label, one bar per series (at most 3 series,
    coloured by the stylesheet's .s0 .s1 .s2 classes)."""
    peak = max((v for _, values in series for v in values), default=0) or 1
    groups = max(len(labels), 1)
    group_w = (WIDTH - 2 * PAD) / groups
    bar_w = max(2.0, group_w * 0.8 / max(len(series), 1))
    plot_h = HEIGHT - PAD - AXIS
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<line class="axis" x1="{PAD}" y1="{PAD + plot_h}" x2="{WIDTH - PAD}" '
        f'y2="{PAD + plot_h}"/>',
    ]
    for i, label in enumerate(labels):
        x0 = PAD + i * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * value / peak
            x = x0 + s * bar_w
            y = PAD + plot_h - h
            parts.append(
                f'<rect class="s{s}" x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" '
                f'height="{h:.1f}"><title>{escape(name)} {escape(label)}: '
                f"{value:g}{escape(unit)}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text class="val" x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}">{value:g}</text>'
                )
        parts.append(
            f'<text class="lbl" x="{x0 + group_w * 0.4:.1f}" y="{HEIGHT - 8}">'
            f"{escape(label)}</text>"
        )
    if len(series) > 1:
        for s, (name, _) in enumerate(series):
            parts.append(
                f'<rect class="s{s}" x="{WIDTH - PAD - 150 + s * 75}" y="4" width="10" '
                f'height="10"/><text class="key" x="{WIDTH - PAD - 136 + s * 75}" y="13">'
                f"{escape(name)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def gauge(title: str, percent: float | None, no_data: str = "no data") -> Markup:
    """A horizontal bar showing a percentage (SLA compliance); `no_data` when none."""
    value = 0.0 if percent is None else max(0.0, min(100.0, percent))
    text = no_data if percent is None else f"{percent:g}%"
    width = 3.0 * value
    cls = "good" if value >= 95 else "warn" if value >= 80 else "bad"
    return Markup(
        f'<svg class="gauge" viewBox="0 0 300 28" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}: {escape(text)}</title>"
        f'<rect class="track" x="0" y="4" width="300" height="20" rx="4"/>'
        f'<rect class="{cls}" x="0" y="4" width="{width:.1f}" height="20" rx="4"/>'
        f'<text class="gauge-text" x="150" y="19">{escape(text)}</text></svg>'
    )
