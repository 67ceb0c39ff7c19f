"""Every service's command line: ``python -m <service> [serve|migrate|revision -m MSG]``."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import uvicorn

from . import migrations
from .http_protocol import JoinedWritesProtocol
from .service import Service


def main(create_service: Callable[[], Service]) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the service (the default)")
    sub.add_parser("migrate", help="apply the database migrations and exit")
    revision = sub.add_parser("revision", help="autogenerate a migration from the tables")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args()

    service = create_service()
    settings = service.settings
    if args.command == "migrate":
        migrations.upgrade(service.migrations_dir, settings.database_url)
    elif args.command == "revision":
        migrations.revision(service.migrations_dir, settings.database_url, args.message)
    else:
        uvicorn.run(
            service.app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=int(settings.graceful_timeout_seconds),
            http=JoinedWritesProtocol,
        )
