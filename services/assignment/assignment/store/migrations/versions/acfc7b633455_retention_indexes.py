"""the inbox and outbox indexed by time: rows past their retention are deleted oldest first

Revision ID: acfc7b633455
Revises: 6a4d2e9c1b70
Create Date: 2026-11-28 12:30:00.000000

"""
from typing import Sequence, Union

from ticketflow_runtime.migrations import create_retention_indexes, drop_retention_indexes


# revision identifiers, used by Alembic.
revision: str = 'acfc7b633455'
down_revision: Union[str, Sequence[str], None] = '6a4d2e9c1b70'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_retention_indexes()


def downgrade() -> None:
    drop_retention_indexes()
