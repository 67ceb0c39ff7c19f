"""the Ticket Orders summary read from one index

Revision ID: 8b1f4c2d7e35
Revises: 5e0c3f1b8d24
Create Date: 2026-11-28 03:10:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '8b1f4c2d7e35'
down_revision: Union[str, Sequence[str], None] = '5e0c3f1b8d24'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    # An event's orders grouped by status, payment method and currency, their amounts
    # summed, without visiting the table; it also serves every lookup by event, so the
    # index on event_id alone goes (an order still writes as many index entries).
    op.create_index('ix_orders_event_summary', 'orders', ['event_id', 'status', 'payment_method', 'currency'],
                    unique=False, postgresql_include=['quantity', 'net', 'vat', 'gross'])
    op.drop_index('ix_orders_event_id', table_name='orders')


def downgrade() -> None:
    """Downgrade schema."""
    op.create_index('ix_orders_event_id', 'orders', ['event_id'], unique=False)
    op.drop_index('ix_orders_event_summary', table_name='orders')
