"""Property tests of the order rules: the status machine and the money arithmetic."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders import domain
from orders.domain import ALLOWED_TRANSITIONS, Action, OrderStatus, PaymentMethod

statuses = st.sampled_from(list(OrderStatus))
methods = st.sampled_from(list(PaymentMethod))


@given(st.lists(statuses, max_size=12))
def test_any_walk_through_the_machine_only_takes_allowed_steps(targets: list[OrderStatus]) -> None:
    current = OrderStatus.REQUESTED
    history = [current]
    for target in targets:
        try:
            domain.check_transition(current, target)
        except domain.IllegalTransition:
            assert target not in ALLOWED_TRANSITIONS[current]
            continue
        assert target in ALLOWED_TRANSITIONS[current]
        current = target
        history.append(current)
    # Settled happens at most once, and nothing follows cancelled.
    assert history.count(OrderStatus.SETTLED) <= 1
    if OrderStatus.CANCELLED in history:
        assert history[-1] is OrderStatus.CANCELLED and history.count(OrderStatus.CANCELLED) == 1


@given(statuses)
def test_no_status_moves_to_itself(status: OrderStatus) -> None:
    with pytest.raises(domain.IllegalTransition):
        domain.check_transition(status, status)


@given(statuses, methods, st.sampled_from(list(Action)))
def test_each_payment_method_settles_only_its_own_way(status: OrderStatus, method: PaymentMethod,
                                                      via: Action) -> None:
    if domain.settlement_path_allows(method, status, via):
        assert OrderStatus.SETTLED in ALLOWED_TRANSITIONS[status]
        assert (method, via) in {(PaymentMethod.INVOICE, Action.MARK_PAID), (PaymentMethod.SPONSORED, Action.APPROVE),
                                 (PaymentMethod.FREE, Action.APPROVE)}
    if method is PaymentMethod.CARD:
        assert not domain.settlement_path_allows(method, status, via), "card orders settle on Stripe's word only"


@given(statuses, methods)
def test_offered_actions_are_possible_from_the_status(status: OrderStatus, method: PaymentMethod) -> None:
    for action in domain.available_actions(status, method):
        target = {Action.CANCEL: OrderStatus.CANCELLED, Action.REFUND: OrderStatus.CANCELLED,
                  Action.APPROVE: OrderStatus.SETTLED, Action.MARK_PAID: OrderStatus.SETTLED,
                  Action.SEND_INVOICE: OrderStatus.INVOICE_SENT}[action]
        assert target in ALLOWED_TRANSITIONS[status], (status, method, action)


prices = st.integers(min_value=0, max_value=10**9)
quantities = st.integers(min_value=1, max_value=10_000)
rates = st.integers(min_value=0, max_value=10_000)


@given(prices, quantities, rates)
def test_line_amounts_are_exact_in_minor_units(unit_net: int, quantity: int, rate: int) -> None:
    amounts = domain.line_amounts(unit_net, quantity, rate)
    assert amounts.net == unit_net * quantity
    assert amounts.gross == amounts.net + amounts.vat
    exact = Decimal(amounts.net) * rate / 10_000
    assert abs(Decimal(amounts.vat) - exact) <= Decimal("0.5")
    assert amounts.vat == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(prices, quantities, quantities, rates)
def test_vat_never_decreases_with_more_tickets(unit_net: int, q1: int, q2: int, rate: int) -> None:
    low, high = sorted((q1, q2))
    assert domain.line_amounts(unit_net, low, rate).vat <= domain.line_amounts(unit_net, high, rate).vat


@given(st.lists(st.tuples(prices, quantities), min_size=1, max_size=10), rates)
def test_an_orders_totals_are_the_sums_of_its_lines(lines, rate: int) -> None:
    amounts = [domain.line_amounts(price, quantity, rate) for price, quantity in lines]
    total = domain.ZERO
    for line in amounts:
        total += line
    assert total.net == sum(a.net for a in amounts)
    assert total.vat == sum(a.vat for a in amounts)
    assert total.gross == total.net + total.vat


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_invoice_numbers_are_distinct_and_read_back(a: int, b: int) -> None:
    assert (domain.invoice_number("INV-", a) == domain.invoice_number("INV-", b)) == (a == b)
    assert int(domain.invoice_number("INV-", a).removeprefix("INV-")) == a
