"""The arithmetic of the whole-flow benchmark and the soak: hops, series, ceilings, growth, lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ticketflow_local.bench.flowstats import (
    Ceiling,
    OrderTimes,
    Spread,
    ends_after_warmup,
    growth,
    hop_ms,
    lag_bounded,
    rate_series,
    windowed_percentile,
)
from ticketflow_local.bench.report import percentile

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def order_through(*, tickets: int = 3, **milestones: float) -> OrderTimes:
    """An order whose per-ticket milestones are reached by every ticket at the given time."""
    order = OrderTimes(tickets)
    for milestone, ms in milestones.items():
        if milestone in ("placed", "settled"):
            order.reach(milestone, at(ms))
        else:
            for ticket in range(tickets):
                order.reach(milestone, at(ms - ticket), f"t{ticket}")
    return order


def test_an_order_reaches_a_ticket_milestone_with_its_last_ticket() -> None:
    order = OrderTimes(3)
    order.reach("issued", at(10), "a")
    order.reach("issued", at(30), "b")
    assert order.when("issued") is None
    order.reach("issued", at(20), "c")
    assert order.when("issued") == at(30)
    order.reach("issued", at(40), "b")  # a redelivered event replaces, never adds a ticket
    assert order.when("issued") == at(40)


def test_an_order_is_complete_only_when_every_milestone_is_reached() -> None:
    partial = order_through(placed=0, settled=5, issued=20, assigned=40, emailed=90)
    assert not partial.complete
    whole = order_through(placed=0, settled=5, issued=20, assigned=40, emailed=90, checked_in=120)
    assert whole.complete


def test_hops_are_taken_from_orders_that_reached_both_ends() -> None:
    orders = [order_through(placed=0, settled=5, issued=20), order_through(placed=0, settled=8)]
    assert hop_ms(orders, "settled", "issued") == [15.0]
    assert hop_ms(orders, "placed", "settled") == [5.0, 8.0]


def test_percentile_picks_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 50) == 51.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) != percentile([], 99)  # NaN: nothing measured


def test_spread_reports_three_percentiles_and_the_count() -> None:
    spread = Spread.of([float(n) for n in range(1000)])
    assert (spread.p50, spread.p95, spread.p99, spread.count) == (500.0, 949.0, 989.0, 1000)
    assert spread.line() == "p50 500 ms, p95 949 ms, p99 989 ms (n=1,000)"


def test_rate_series_counts_per_second_in_each_window_including_empty_ones() -> None:
    assert rate_series([100.0, 100.5, 101.0, 111.0, 99.0], start=100.0, window=5) == [(0, 0.6), (5, 0.0), (10, 0.2)]
    assert rate_series([], start=0.0, window=5) == []


def test_windowed_percentile_groups_values_by_their_moment() -> None:
    points = [(0.5, 10.0), (1.0, 30.0), (6.0, 100.0)]
    assert windowed_percentile(points, start=0.0, window=5, p=99) == [(0, 30.0), (5, 100.0)]


def test_the_ceiling_is_the_slower_store_and_the_ratio_is_against_it() -> None:
    found = Ceiling(messages=28_000, message_seconds=2.0, rows=300_000, row_seconds=5.0, orders=2000)
    assert found.kafka_orders_per_second == 1000
    assert found.postgres_orders_per_second == 400
    assert found.orders_per_second == 400
    assert found.ratio(100) == pytest.approx(0.25)
    assert Ceiling(0, 0.0, 0, 0.0, 0).ratio(10) == 0.0


def test_growth_compares_medians_after_the_warm_up_so_a_single_peak_does_not_count() -> None:
    flat_with_a_peak = [(t, 100.0) for t in range(0, 600, 5)] + [(301, 400.0)]
    assert growth(sorted(flat_with_a_peak), warmup=120, window=60) == 0.0
    leaking = [(t, 100.0 + t / 10) for t in range(0, 600, 5)]
    first, last = ends_after_warmup(leaking, warmup=120, window=60)
    assert (first, last) == (114.75, 156.75)
    assert growth(leaking, warmup=120, window=60) == pytest.approx(156.75 / 114.75 - 1)
    assert growth([(0, 100.0)], warmup=120, window=60) == 0.0  # nothing after the warm-up


def test_lag_is_bounded_unless_it_ends_higher_than_twice_its_level_after_the_warm_up() -> None:
    steady = [(t, 300.0 + (t % 10)) for t in range(0, 600, 5)]
    assert lag_bounded(steady, warmup=120, window=60, floor=100)[0]
    growing = [(t, float(t)) for t in range(0, 600, 5)]
    bounded, first, last = lag_bounded(growing, warmup=120, window=60, floor=100)
    assert not bounded and (first, last) == (147.5, 567.5)
    small_noise = [(t, float(t % 3) * 20) for t in range(0, 600, 5)]
    assert lag_bounded(small_noise, warmup=120, window=60, floor=100)[0]
