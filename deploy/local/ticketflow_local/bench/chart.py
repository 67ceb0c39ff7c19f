"""PNG charts of a run over time (matplotlib, drawn off-screen)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display here; files only

import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)


@dataclass
class Panel:
    """One plot: named (x, y) series sharing a y axis."""

    title: str
    ylabel: str
    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    log_scale: bool = False


def draw(path: Path, title: str, panels: list[Panel], xlabel: str = "seconds since the start") -> Path:
    figure, axes = plt.subplots(len(panels), 1, figsize=(10, 3.6 * len(panels)), squeeze=False)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        for name, points in panel.series.items():
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, label=name, linewidth=1.2)
        ax.set_title(panel.title, fontsize=10)
        ax.set_ylabel(panel.ylabel)
        ax.set_xlabel(xlabel)
        if panel.log_scale:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if panel.series:
            ax.legend(fontsize=8, loc="best")
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
