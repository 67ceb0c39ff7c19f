"""attempts out and interrupted

Revision ID: 6a55ff59469f
Revises: 2d9d17e78477
Create Date: 2026-11-27 14:58:33.263106

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '6a55ff59469f'
down_revision: Union[str, Sequence[str], None] = '2d9d17e78477'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('messages', sa.Column('attempt_started_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('messages', sa.Column('interrupted_attempts', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column('messages', 'interrupted_attempts')
    op.drop_column('messages', 'attempt_started_at')
