"""HTTP API of the checkin service: thin routes over the use cases."""

from . import badges, desk, gates, scans

routers = [scans.router, gates.router, desk.router, badges.router]
