"""Arrivals per five minutes as an SVG bar chart, drawn on the server (no charting script)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT, BOTTOM, LEFT = 720, 200, 28, 34


def arrivals_svg(buckets: list[dict], title: str, zone: ZoneInfo | None = None) -> str:
    """``buckets``: ``{"from": ISO time, "arrivals": n}`` in time order; the last 48 (four hours) are drawn,
    labelled with the wall-clock time in ``zone``."""
    shown = buckets[-48:]
    peak = max((b["arrivals"] for b in shown), default=0) or 1
    plot_height = HEIGHT - BOTTOM - 10
    # At least an hour of slots, so a few early arrivals do not fill the chart.
    slot = (WIDTH - LEFT) / max(len(shown), 12)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="0" y="14">{peak}</text><text x="0" y="{HEIGHT - BOTTOM}">0</text>',
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="#4a5360"/>']
    label_every = max(len(shown) // 8, 1)
    for index, bucket in enumerate(shown):
        height = plot_height * bucket["arrivals"] / peak
        x = LEFT + index * slot
        moment = datetime.fromisoformat(bucket["from"])
        start = (moment.astimezone(zone) if zone else moment).strftime("%H:%M")
        parts.append(f'<rect class="bar" x="{x + 1:.1f}" y="{HEIGHT - BOTTOM - height:.1f}" '
                     f'width="{max(slot - 2, 1):.1f}" height="{height:.1f}"><title>{start}: '
                     f'{bucket["arrivals"]}</title></rect>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + 1:.1f}" y="{HEIGHT - 8}">{start}</text>')
    parts.append("</svg>")
    return "".join(parts)
