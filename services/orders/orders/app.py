"""Wiring of the orders service."""

from datetime import timedelta

from pydantic import Field

from ticketflow_runtime import Service, ServiceSettings, settings_for
from ticketflow_schemas.events import OrderCancelled, OrderInvoiceSent, OrderPlaced, OrderSettled

from . import api, handlers
from .holds import HoldSweeper
from .stripe_gateway import StripeGateway
from .usecases.payments import HOLD_GRACE

NAME = "orders"


class PaymentSettings(ServiceSettings):
    stripe_api_key: str | None = Field(default=None, description="card payments are off without it")
    stripe_api_base: str = "https://api.stripe.com"
    stripe_webhook_secret: str | None = None
    checkout_success_url: str = "http://127.0.0.1:8001/checkout/{ORDER_ID}/done"
    checkout_cancel_url: str = "http://127.0.0.1:8001/checkout/{ORDER_ID}/cancelled"
    checkout_ttl_minutes: int = Field(default=60, ge=31, le=1440, description="Stripe allows 30 min to 24 h")
    hold_sweep_seconds: float = Field(default=30.0, gt=0)


Settings = settings_for(NAME, PaymentSettings)


def create_service(settings: ServiceSettings | None = None) -> Service:
    settings = settings or Settings()
    service = Service(
        NAME,
        settings,
        description="Ticket orders: the events catalog, orders, payments, invoices and organizations.",
        subscriptions=handlers.subscriptions,
        routers=api.routers,
        fast_routes={("POST", "/v1/orders"): api.ticket_orders.create_order_at_once},
        publishes=[OrderPlaced, OrderInvoiceSent, OrderSettled, OrderCancelled],
    )
    checkout_ttl = timedelta(minutes=settings.checkout_ttl_minutes)
    service.extras["checkout_hold"] = checkout_ttl + HOLD_GRACE
    if settings.stripe_api_key and settings.stripe_webhook_secret:
        service.extras["stripe"] = StripeGateway(
            api_key=settings.stripe_api_key, api_base=settings.stripe_api_base,
            webhook_secret=settings.stripe_webhook_secret, success_url=settings.checkout_success_url,
            cancel_url=settings.checkout_cancel_url, checkout_ttl=checkout_ttl,
        )
    service.add_worker(HoldSweeper(service.database, interval_seconds=settings.hold_sweep_seconds))
    return service
