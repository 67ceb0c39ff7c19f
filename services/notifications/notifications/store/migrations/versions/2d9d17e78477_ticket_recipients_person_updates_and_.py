"""ticket recipients, person updates and push devices

Revision ID: 2d9d17e78477
Revises: 2a1e94c555a7
Create Date: 2026-11-27 14:37:20.109610

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '2d9d17e78477'
down_revision: Union[str, Sequence[str], None] = '2a1e94c555a7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('person_updates',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('ticket_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_updates'))
    )
    op.create_index('ix_person_updates_person', 'person_updates', ['person_id', 'id'], unique=False)
    op.create_table('push_devices',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('platform', sa.String(length=10), nullable=False),
    sa.Column('token', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_devices')),
    sa.UniqueConstraint('platform', 'token', name=op.f('uq_push_devices_platform_token'))
    )
    op.create_index(op.f('ix_push_devices_person_id'), 'push_devices', ['person_id'], unique=False)
    op.create_table('tickets',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('order_id', sa.UUID(), nullable=False),
    sa.Column('event_id', sa.UUID(), nullable=False),
    sa.Column('event_name', sa.String(length=200), nullable=True),
    sa.Column('event_starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('event_venue', sa.String(length=200), nullable=True),
    sa.Column('ticket_number', sa.String(length=20), nullable=False),
    sa.Column('ticket_type_name', sa.String(length=200), nullable=False),
    sa.Column('holder_person_id', sa.UUID(), nullable=True),
    sa.Column('holder_name', sa.String(length=200), nullable=True),
    sa.Column('holder_email', sa.String(length=320), nullable=True),
    sa.Column('holder_company', sa.String(length=200), nullable=True),
    sa.Column('holder_language', sa.String(length=2), nullable=True),
    sa.Column('voided', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    op.create_index(op.f('ix_tickets_holder_person_id'), 'tickets', ['holder_person_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_tickets_holder_person_id'), table_name='tickets')
    op.drop_table('tickets')
    op.drop_index(op.f('ix_push_devices_person_id'), table_name='push_devices')
    op.drop_table('push_devices')
    op.drop_index('ix_person_updates_person', table_name='person_updates')
    op.drop_table('person_updates')
