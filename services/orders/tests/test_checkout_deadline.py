"""The Checkout Session's deadline: the same on every attempt while Stripe accepts it."""

from datetime import UTC, datetime, timedelta

from orders.stripe_gateway import SHORTEST_CHECKOUT, checkout_deadline

NOW = datetime(2026, 11, 28, 9, 0, 0, 400_000, tzinfo=UTC)
TTL = timedelta(minutes=60)


def test_the_orders_deadline_is_kept_in_whole_seconds() -> None:
    held = datetime(2026, 11, 28, 9, 45, 7, 900_000, tzinfo=UTC)
    assert checkout_deadline(held, NOW, TTL) == datetime(2026, 11, 28, 9, 45, 7, tzinfo=UTC)


def test_a_retry_a_second_later_sends_the_same_deadline() -> None:
    first = checkout_deadline(NOW + TTL, NOW, TTL)
    assert checkout_deadline(first, NOW + timedelta(seconds=1), TTL) == first
    assert checkout_deadline(first, NOW + timedelta(minutes=20), TTL) == first


def test_a_deadline_too_close_for_stripe_is_renewed() -> None:
    close = NOW + SHORTEST_CHECKOUT - timedelta(seconds=1)
    assert checkout_deadline(close, NOW, TTL) == (NOW + TTL).replace(microsecond=0)
    assert checkout_deadline(NOW - timedelta(minutes=1), NOW, TTL) == (NOW + TTL).replace(microsecond=0)


def test_an_order_without_a_deadline_gets_one() -> None:
    assert checkout_deadline(None, NOW, TTL) == (NOW + TTL).replace(microsecond=0)


def test_at_least_thirty_minutes_always_reach_stripe() -> None:
    for minutes in range(0, 90):
        deadline = checkout_deadline(NOW + timedelta(minutes=minutes), NOW, TTL)
        assert deadline - NOW >= timedelta(minutes=30)
