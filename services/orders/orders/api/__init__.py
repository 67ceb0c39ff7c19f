"""HTTP API of the orders service: thin routes over the use cases."""

from . import catalog, orders_view, organizations, public, ticket_orders, webhooks

# The view's fixed paths (/v1/orders/summary) come before /v1/orders/{order_id}.
routers = [catalog.router, orders_view.router, ticket_orders.router, organizations.router, public.router,
           webhooks.router]
