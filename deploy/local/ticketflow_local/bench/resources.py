"""CPU seconds and resident memory of the services, Kafka and PostgreSQL, sampled while a run goes on."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import psutil

from ..config import PATHS, SERVICE_PORTS
from ..processes import read_pid


def service_pid(port: int) -> int | None:
    """The process listening on ``port`` (the services write no pid files; their ports are theirs)."""
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port and connection.pid:
            return connection.pid
    return None


def watched_pids() -> dict[str, int]:
    """Every running part of the local stack by name: the five services, Kafka, PostgreSQL."""
    pids = {name: pid for name, port in SERVICE_PORTS.items() if (pid := service_pid(port))}
    if (pid := read_pid(PATHS.run / "kafka.pid")) and psutil.pid_exists(pid):
        pids["kafka"] = pid
    postmaster = PATHS.postgres / "data" / "postmaster.pid"
    if postmaster.exists() and (pid := int(postmaster.read_text().split()[0])) and psutil.pid_exists(pid):
        pids["postgresql"] = pid
    pids["load generator"] = os.getpid()
    return pids


def _tree_usage(process: psutil.Process) -> tuple[float, float]:
    """CPU seconds and memory (MiB) of a process and its children (PostgreSQL's backends).

    The CPU of children already reaped is in the parent's children_* times.
    Memory is the RSS of a lone process; for a tree, the sum of PSS, so that
    PostgreSQL's shared buffers count once, not once per backend.
    """
    # The load generator's own children (none of the stack's) are not part of it.
    children = process.children(recursive=True) if process.pid != os.getpid() else []
    with process.oneshot():
        times = process.cpu_times()
        cpu = times.user + times.system + times.children_user + times.children_system
        memory = process.memory_full_info().pss if children else process.memory_info().rss
    for child in children:
        try:
            times = child.cpu_times()
            cpu += times.user + times.system
            memory += child.memory_full_info().pss
        except psutil.Error:
            continue
    return cpu, memory / 2**20


@dataclass
class Usage:
    cpu_start: float
    cpu_end: float = 0.0
    peak_rss: float = 0.0
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_end - self.cpu_start


class ResourceSampler:
    """Samples every watched process each ``interval`` seconds on a thread; ``stop`` returns the usage by name."""

    def __init__(self, interval: float = 1.0, pids: dict[str, int] | None = None) -> None:
        self.interval = interval
        self.processes = {name: psutil.Process(pid) for name, pid in (pids or watched_pids()).items()}
        self.usage: dict[str, Usage] = {}
        self.machine: Usage | None = None  # every process on the machine: how much else ran beside the run
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        elapsed = time.monotonic() - self.started
        machine = psutil.cpu_times()
        busy = sum(machine) - machine.idle - getattr(machine, "iowait", 0.0)
        self.machine = self.machine or Usage(cpu_start=busy)
        self.machine.cpu_end = busy
        for name, process in self.processes.items():
            try:
                cpu, rss = _tree_usage(process)
            except psutil.Error:
                continue  # it exited; what was sampled stays
            usage = self.usage.setdefault(name, Usage(cpu_start=cpu))
            usage.cpu_end = cpu
            usage.peak_rss = max(usage.peak_rss, rss)
            usage.rss.append((elapsed, rss))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> ResourceSampler:
        self.started = time.monotonic()
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> dict[str, Usage]:
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.usage


def cpu_per_unit(sampler: ResourceSampler, usage: dict[str, Usage], count: int) -> str:
    """Each watched part's CPU per unit of work (``count`` units), busiest first, then the rest of the
    machine's ("other": the stand-ins, such as the SMTP sink, and anything else that ran)."""
    parts = sorted(usage.items(), key=lambda item: -item[1].cpu_seconds)
    other = (sampler.machine.cpu_seconds if sampler.machine else 0.0) - sum(u.cpu_seconds for _, u in parts)
    shown = [f"{name} {u.cpu_seconds / count * 1000:.2f} ms" for name, u in parts if u.cpu_seconds >= 0.05]
    return ", ".join([*shown, f"other {max(other, 0.0) / count * 1000:.2f} ms"])
