"""the attempts out, indexed: the dispatcher looks through them before every batch

Revision ID: 8c41d2e7a9b3
Revises: 6a55ff59469f
Create Date: 2026-11-27 22:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '8c41d2e7a9b3'
down_revision: Union[str, Sequence[str], None] = '6a55ff59469f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('messages_out', 'messages', ['attempt_started_at'], unique=False,
                    postgresql_where=sa.text("status = 'sending'"))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('messages_out', table_name='messages', postgresql_where=sa.text("status = 'sending'"))
