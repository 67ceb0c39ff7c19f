import pytest

from orders import domain
from orders.domain import OrderStatus, TicketCountStatus


@pytest.mark.parametrize(
    ("unit_net", "quantity", "rate", "expected"),
    [
        (100000, 3, 2500, domain.Amounts(300000, 75000, 375000)),
        (999, 1, 2500, domain.Amounts(999, 250, 1249)),  # 249.75 rounds half up to 250
        (2, 1, 2500, domain.Amounts(2, 1, 3)),  # 0.5 rounds up
        (1, 1, 2500, domain.Amounts(1, 0, 1)),  # 0.25 rounds down
        (0, 5, 2500, domain.Amounts(0, 0, 0)),
        (1000, 2, 0, domain.Amounts(2000, 0, 2000)),
    ],
)
def test_line_amounts_round_vat_half_up_per_line(unit_net, quantity, rate, expected) -> None:
    assert domain.line_amounts(unit_net, quantity, rate) == expected


def test_line_amounts_refuse_nonsense() -> None:
    with pytest.raises(ValueError):
        domain.line_amounts(-1, 1, 2500)
    with pytest.raises(ValueError):
        domain.line_amounts(100, 0, 2500)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.REQUESTED, OrderStatus.SETTLED),
        (OrderStatus.REQUESTED, OrderStatus.INVOICE_SENT),
        (OrderStatus.INVOICE_SENT, OrderStatus.SETTLED),
        (OrderStatus.PAYMENT_PENDING, OrderStatus.SETTLED),
        (OrderStatus.SETTLED, OrderStatus.CANCELLED),
    ],
)
def test_allowed_transitions(current, target) -> None:
    domain.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (OrderStatus.SETTLED, OrderStatus.SETTLED),
        (OrderStatus.CANCELLED, OrderStatus.SETTLED),
        (OrderStatus.SETTLED, OrderStatus.REQUESTED),
        (OrderStatus.INVOICE_SENT, OrderStatus.PAYMENT_PENDING),
    ],
)
def test_illegal_transitions_are_refused_with_a_clear_message(current, target) -> None:
    with pytest.raises(domain.IllegalTransition, match=f"'{current.value}' cannot become '{target.value}'"):
        domain.check_transition(current, target)


@pytest.mark.parametrize(
    ("ordered", "issued", "status"),
    [(3, 0, TicketCountStatus.NONE_ISSUED), (3, 1, TicketCountStatus.PARTIALLY_ISSUED),
     (3, 3, TicketCountStatus.ALL_ISSUED), (3, 4, TicketCountStatus.MISMATCH)],
)
def test_ticket_count_status(ordered, issued, status) -> None:
    assert domain.ticket_count_status(ordered, issued) is status


def test_order_numbers_are_zero_padded() -> None:
    assert domain.order_number(42) == "TO-000042"
