"""the inbox and outbox indexed by time: rows past their retention are deleted oldest first

Revision ID: a19a03cdb0d6
Revises: 8b1f4c2d7e35
Create Date: 2026-11-28 12:30:00.000000

"""
from typing import Sequence, Union

from ticketflow_runtime.migrations import create_retention_indexes, drop_retention_indexes


# revision identifiers, used by Alembic.
revision: str = 'a19a03cdb0d6'
down_revision: Union[str, Sequence[str], None] = '8b1f4c2d7e35'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    create_retention_indexes()


def downgrade() -> None:
    drop_retention_indexes()
