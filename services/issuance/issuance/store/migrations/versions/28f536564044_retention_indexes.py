"""the inbox and outbox indexed by time: rows past their retention are deleted oldest first

Revision ID: 28f536564044
Revises: 71e12bd0beb6
Create Date: 2026-11-28 12:30:00.000000

"""
from typing import Sequence, Union

from ticketflow_runtime.migrations import create_retention_indexes, drop_retention_indexes


# revision identifiers, used by Alembic.
revision: str = '28f536564044'
down_revision: Union[str, Sequence[str], None] = '71e12bd0beb6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_retention_indexes()


def downgrade() -> None:
    drop_retention_indexes()
