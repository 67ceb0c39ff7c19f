"""The console's pages, one module per area: staff (session, orders, organizations, check-in) and public
(event page, buyer's order page, My Tickets)."""

from . import attendee, buyer, checkin, events, orders, organizations, public, session

routers = [session.router, orders.router, events.router, organizations.router, checkin.router, public.router, buyer.router,
           attendee.router]
