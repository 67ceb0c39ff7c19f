"""Order rules: amounts, VAT and the status machine. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

DEFAULT_VAT_RATE_BP = 2500  # 25.00 %, in basis points


class OrderStatus(StrEnum):
    REQUESTED = "requested"
    PAYMENT_PENDING = "payment_pending"
    INVOICE_SENT = "invoice_sent"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class PaymentMethod(StrEnum):
    CARD = "card"
    INVOICE = "invoice"
    SPONSORED = "sponsored"
    FREE = "free"


# Design section 6: invoice orders go requested -> invoice_sent -> settled, card
# orders through payment_pending, sponsored and free settle on approval; any
# order can be cancelled (a settled one by refund).
ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.REQUESTED: frozenset(
        {OrderStatus.PAYMENT_PENDING, OrderStatus.INVOICE_SENT, OrderStatus.SETTLED, OrderStatus.CANCELLED}
    ),
    OrderStatus.PAYMENT_PENDING: frozenset({OrderStatus.SETTLED, OrderStatus.CANCELLED, OrderStatus.REQUESTED}),
    OrderStatus.INVOICE_SENT: frozenset({OrderStatus.SETTLED, OrderStatus.CANCELLED}),
    OrderStatus.SETTLED: frozenset({OrderStatus.CANCELLED}),
    OrderStatus.CANCELLED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order in status {current.value!r} cannot become {target.value!r}")
        self.current = current
        self.target = target


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    if target not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransition(current, target)


@dataclass(frozen=True)
class Amounts:
    net: int
    vat: int
    gross: int

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.net + other.net, self.vat + other.vat, self.gross + other.gross)


ZERO = Amounts(0, 0, 0)


def line_amounts(unit_net: int, quantity: int, vat_rate_bp: int) -> Amounts:
    """Net, VAT and gross of one order line, in minor units.

    VAT is computed on the line's net total and rounded half up once per line,
    so the order's VAT is the sum of its lines' VAT (what the invoice shows).
    """
    if unit_net < 0 or quantity < 1:
        raise ValueError("unit price must be non-negative and quantity positive")
    net = unit_net * quantity
    vat = int((Decimal(net) * vat_rate_bp / Decimal(10_000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return Amounts(net=net, vat=vat, gross=net + vat)


class TicketCountStatus(StrEnum):
    NONE_ISSUED = "none_issued"
    PARTIALLY_ISSUED = "partially_issued"
    ALL_ISSUED = "all_issued"
    MISMATCH = "mismatch"


def ticket_count_status(ordered: int, issued: int) -> TicketCountStatus:
    if issued == 0:
        return TicketCountStatus.NONE_ISSUED
    if issued < ordered:
        return TicketCountStatus.PARTIALLY_ISSUED
    if issued == ordered:
        return TicketCountStatus.ALL_ISSUED
    return TicketCountStatus.MISMATCH


def order_number(sequence_value: int) -> str:
    return f"TO-{sequence_value:06d}"


# -- what staff may do with an order, by status and payment method

class Action(StrEnum):
    SEND_INVOICE = "send_invoice"
    MARK_PAID = "mark_paid"
    APPROVE = "approve"
    CANCEL = "cancel"
    REFUND = "refund"


def available_actions(status: OrderStatus, method: PaymentMethod) -> list[Action]:
    """The actions the Ticket Orders view offers for an order."""
    if status is OrderStatus.CANCELLED:
        return []
    if status is OrderStatus.SETTLED:
        return [Action.REFUND]
    actions: list[Action] = []
    if method is PaymentMethod.INVOICE:
        actions.append(Action.SEND_INVOICE if status is OrderStatus.REQUESTED else Action.MARK_PAID)
    elif method in (PaymentMethod.SPONSORED, PaymentMethod.FREE):
        actions.append(Action.APPROVE)
    actions.append(Action.CANCEL)
    return actions


def settlement_path_allows(method: PaymentMethod, current: OrderStatus, via: Action) -> bool:
    """Which way an order of this payment method may settle (design section 6)."""
    if method is PaymentMethod.INVOICE:
        return via is Action.MARK_PAID and current in (OrderStatus.INVOICE_SENT, OrderStatus.REQUESTED)
    if method in (PaymentMethod.SPONSORED, PaymentMethod.FREE):
        return via is Action.APPROVE and current is OrderStatus.REQUESTED
    return False  # card orders settle on the payment provider's word only


def invoice_number(prefix: str, value: int) -> str:
    """Gap-free, per organizer: the counter behind ``value`` advances in the invoice's transaction."""
    return f"{prefix}{value:06d}"
