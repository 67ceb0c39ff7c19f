"""Arithmetic of the whole-flow and soak runs: hops, series over time, ceilings, growth. No I/O."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .report import percentile

# The milestones of one order, in the order they happen; each hop is from one to the next.
MILESTONES = ("placed", "settled", "issued", "assigned", "emailed", "checked_in")
HOPS = tuple(zip(MILESTONES, MILESTONES[1:], strict=False))
END_TO_END = ("placed", "checked_in")


@dataclass
class OrderTimes:
    """When each milestone of one order happened, from the events' own timestamps.

    A milestone reached per ticket (issued, assigned, emailed, checked in) is kept
    per ticket; the order reaches it with its last ticket.
    """

    tickets: int
    at: dict[str, datetime] = field(default_factory=dict)
    per_ticket: dict[str, dict[str, datetime]] = field(default_factory=dict)

    def reach(self, milestone: str, when: datetime, ticket: str | None = None) -> None:
        if ticket is None:
            self.at[milestone] = when
        else:
            self.per_ticket.setdefault(milestone, {})[ticket] = when

    def when(self, milestone: str) -> datetime | None:
        if milestone in self.at:
            return self.at[milestone]
        seen = self.per_ticket.get(milestone, {})
        return max(seen.values()) if len(seen) >= self.tickets else None

    @property
    def complete(self) -> bool:
        return all(self.when(m) is not None for m in MILESTONES)


def hop_ms(orders: Iterable[OrderTimes], start: str, end: str) -> list[float]:
    """Milliseconds from ``start`` to ``end`` of every order that reached both."""
    found = []
    for order in orders:
        began, ended = order.when(start), order.when(end)
        if began is not None and ended is not None:
            found.append((ended - began).total_seconds() * 1000)
    return found


@dataclass(frozen=True)
class Spread:
    p50: float
    p95: float
    p99: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(percentile(list(values), 50), percentile(list(values), 95), percentile(list(values), 99),
                   len(values))

    def line(self, unit: str = "ms") -> str:
        return f"p50 {self.p50:,.0f} {unit}, p95 {self.p95:,.0f} {unit}, p99 {self.p99:,.0f} {unit} (n={self.count:,})"


def rate_series(moments: Iterable[float], start: float, window: float) -> list[tuple[float, float]]:
    """(window start in seconds from ``start``, ``moments`` per second in that window) for each window."""
    counts: dict[int, int] = {}
    for moment in moments:
        if moment >= start:
            index = int((moment - start) // window)
            counts[index] = counts.get(index, 0) + 1
    last = max(counts, default=-1)
    return [(index * window, counts.get(index, 0) / window) for index in range(last + 1)]


def windowed_percentile(points: Iterable[tuple[float, float]], start: float, window: float,
                        p: float) -> list[tuple[float, float]]:
    """(window start in seconds from ``start``, the ``p`` percentile of the values in it) for each window."""
    windows: dict[int, list[float]] = {}
    for moment, value in points:
        windows.setdefault(int((moment - start) // window), []).append(value)
    return [(index * window, percentile(values, p)) for index, values in sorted(windows.items())]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class Ceiling:
    """What bare Kafka and PostgreSQL clients did with the pipeline's volume, as orders per second."""

    messages: int
    message_seconds: float
    rows: int
    row_seconds: float
    orders: int

    @property
    def kafka_orders_per_second(self) -> float:
        return rate(self.orders, self.message_seconds)

    @property
    def postgres_orders_per_second(self) -> float:
        return rate(self.orders, self.row_seconds)

    @property
    def orders_per_second(self) -> float:
        """The binding one of the two: the machine cannot move orders faster than its slower store."""
        return min(self.kafka_orders_per_second, self.postgres_orders_per_second)

    def ratio(self, pipeline_orders_per_second: float) -> float:
        return pipeline_orders_per_second / self.orders_per_second if self.orders_per_second else 0.0


def ends_after_warmup(samples: Sequence[tuple[float, float]], warmup: float,
                      window: float) -> tuple[float, float] | None:
    """Medians of a sampled value in the first and the last ``window`` seconds after ``warmup`` seconds.

    ``samples`` are (seconds since the start, value). Medians, so that one
    garbage-collection peak or one burst does not decide. None without samples.
    """
    after = [(t, v) for t, v in samples if t >= warmup]
    if not after:
        return None
    first = statistics.median(v for t, v in after if t < after[0][0] + window)
    last = statistics.median(v for t, v in after if t > after[-1][0] - window)
    return first, last


def growth(samples: Sequence[tuple[float, float]], warmup: float, window: float) -> float:
    """Relative growth of a sampled value from just after the warm-up to the end."""
    ends = ends_after_warmup(samples, warmup, window)
    return ends[1] / ends[0] - 1 if ends and ends[0] else 0.0


def lag_bounded(samples: Sequence[tuple[float, float]], warmup: float, window: float,
                floor: float) -> tuple[bool, float, float]:
    """Whether lag stayed bounded: at the end no more than twice its level after the warm-up (or ``floor``).

    Returns that and the two levels (medians of the first and the last window).
    """
    first, last = ends_after_warmup(samples, warmup, window) or (0.0, 0.0)
    return last <= max(2 * first, floor), first, last
