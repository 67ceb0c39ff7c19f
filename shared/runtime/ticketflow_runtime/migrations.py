"""Per-service Alembic migrations, run at startup or with ``python -m <service> migrate``.

A service's ``store/migrations/env.py`` is one call to ``run_env``. Replicas
starting together serialize on an advisory lock, so each migration runs once.
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Index, MetaData, text
from sqlalchemy.engine import Connection

from .database import standalone_engine


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def upgrade(migrations_dir: Path, database_url: str) -> None:
    """Apply pending migrations (blocking; call from a thread inside an event loop)."""
    command.upgrade(alembic_config(migrations_dir, database_url), "head")


async def upgrade_async(migrations_dir: Path, database_url: str) -> None:
    await asyncio.to_thread(upgrade, migrations_dir, database_url)


def revision(migrations_dir: Path, database_url: str, message: str) -> None:
    """Autogenerate a migration from the difference between the tables and the database."""
    command.revision(alembic_config(migrations_dir, database_url), message=message, autogenerate=True)


def run_env(metadata: MetaData) -> None:
    """The body of every service's Alembic ``env.py``."""
    url = context.config.get_main_option("sqlalchemy.url")
    lock_key = zlib.crc32(f"ticketflow-migrations-{metadata.info.get('service', '')}".encode())

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            # Released with the transaction, also when a migration fails.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
            context.run_migrations()

    async def run() -> None:
        engine = standalone_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run())


def create_chassis_tables() -> None:
    """Create the outbox and inbox: called by every service's first migration."""
    from alembic import op

    from .tables import service_metadata

    _, outbox, inbox = service_metadata()
    for table in (outbox, inbox):
        table.create(op.get_bind())


def drop_chassis_tables() -> None:
    from alembic import op

    from .tables import service_metadata

    _, outbox, inbox = service_metadata()
    for table in (inbox, outbox):
        table.drop(op.get_bind())


def create_retention_indexes() -> None:
    """The indexes the retention pruners delete the oldest rows by, as the runtime's tables declare them.

    A database created since has them already: `create_chassis_tables` creates the
    outbox and inbox from those same declarations.
    """
    from alembic import op

    for index in _retention_indexes():
        index.create(op.get_bind(), checkfirst=True)


def drop_retention_indexes() -> None:
    from alembic import op

    for index in _retention_indexes():
        index.drop(op.get_bind(), checkfirst=True)


def _retention_indexes() -> list[Index]:
    """Of each retained table (`retention`), the index on its time column."""
    from .retention import INBOX, OUTBOX
    from .tables import service_metadata

    metadata, _, _ = service_metadata()
    return [index for retained in (INBOX, OUTBOX) for index in metadata.tables[retained.table].indexes
            if [column.name for column in index.columns] == [retained.time_column]]
