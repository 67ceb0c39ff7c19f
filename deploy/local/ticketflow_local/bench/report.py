"""Benchmark reports: Markdown in bench-results/, plus helpers to measure."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from ..config import REPO_ROOT

RESULTS = REPO_ROOT / "bench-results"  # git-ignored


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class Report:
    def __init__(self, name: str, directory: Path) -> None:
        self.name = name
        self.directory = directory
        self.lines = [
            f"# Benchmark: {name}",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} cores, "
            f"Python {platform.python_version()}. Everything on this machine (load generator included).",
        ]

    def section(self, title: str) -> None:
        self.lines += ["", f"## {title}", "", "| measure | result | |", "| --- | --- | --- |"]
        print(f"\n{title}", flush=True)

    def row(self, measure: str, result: str, ok: bool | None = None) -> None:
        mark = "" if ok is None else ("meets target" if ok else "**misses target**")
        self.lines.append(f"| {measure} | {result} | {mark} |")
        print(f"  {measure:<44} {result} {mark}", flush=True)

    def write(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self.name}.md"
        path.write_text("\n".join(self.lines) + "\n")
        return path


def run_and_write(name: str, run: Callable[[argparse.Namespace, Report], Awaitable[int]],
                  args: argparse.Namespace) -> int:
    """Run a benchmark's coroutine with a fresh report, write the report and return the exit code."""
    report = Report(name, RESULTS)
    code = asyncio.run(run(args, report))
    print(report.write())
    return code


class rss_sampler:  # noqa: N801 (used like a function)
    """Samples a process's resident memory every 20 ms; ``stop`` returns the peak in MiB."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> float:
        if self.pid is None:
            return 0.0
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(0.02)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak
