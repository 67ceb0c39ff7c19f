"""claim links are withdrawn when the ticket changes hands or gets a newer link

Revision ID: 6a4d2e9c1b70
Revises: 54c281ce30fc
Create Date: 2026-11-28 00:10:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '6a4d2e9c1b70'
down_revision: Union[str, Sequence[str], None] = '54c281ce30fc'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('claims', sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('claims', 'withdrawn_at')
