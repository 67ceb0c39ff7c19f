"""check-in lists rules, devices, offline sync and desk

Revision ID: 99ea3c91b1bb
Revises: c07c42e5be71
Create Date: 2026-11-27 14:06:48.697609

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '99ea3c91b1bb'
down_revision: Union[str, Sequence[str], None] = 'c07c42e5be71'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('devices',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('event_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('gate', sa.String(length=100), nullable=False),
    sa.Column('list_ids', postgresql.ARRAY(sa.UUID()), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_devices_token_hash'))
    )
    op.create_index(op.f('ix_devices_event_id'), 'devices', ['event_id'], unique=False)
    op.create_table('passages',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.UUID(), nullable=False),
    sa.Column('list_id', sa.UUID(), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('gate', sa.String(length=100), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['check_in_lists.id'], name=op.f('fk_passages_list_id_check_in_lists')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_passages_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passages'))
    )
    op.create_index('ix_passages_ticket_list', 'passages', ['ticket_id', 'list_id', 'id'], unique=False)
    op.create_table('check_in_conflicts',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('ticket_id', sa.UUID(), nullable=False),
    sa.Column('list_id', sa.UUID(), nullable=False),
    sa.Column('kept_check_in_id', sa.UUID(), nullable=False),
    sa.Column('device_id', sa.UUID(), nullable=True),
    sa.Column('gate', sa.String(length=100), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['kept_check_in_id'], ['check_ins.id'], name=op.f('fk_check_in_conflicts_kept_check_in_id_check_ins')),
    sa.ForeignKeyConstraint(['list_id'], ['check_in_lists.id'], name=op.f('fk_check_in_conflicts_list_id_check_in_lists')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_check_in_conflicts_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_in_conflicts')),
    sa.UniqueConstraint('nonce', name=op.f('uq_check_in_conflicts_nonce'))
    )
    op.create_index('ix_check_in_conflicts_list', 'check_in_conflicts', ['list_id', 'reported_at'], unique=False)
    op.add_column('check_in_lists', sa.Column('ticket_type_ids', postgresql.ARRAY(sa.UUID()), nullable=True))
    op.add_column('check_in_lists', sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True))
    op.add_column('check_in_lists', sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('check_in_lists', sa.Column('allow_exit', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('check_in_lists', sa.Column('allow_reentry', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('check_ins', sa.Column('device_id', sa.UUID(), nullable=True))
    op.add_column('check_ins', sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False))
    op.add_column('check_ins', sa.Column('reverted_by', sa.String(length=200), nullable=True))
    op.add_column('check_ins', sa.Column('revert_reason', sa.String(length=500), nullable=True))
    op.add_column('scans', sa.Column('device_id', sa.UUID(), nullable=True))
    op.add_column('tickets', sa.Column('event_name', sa.String(length=200), nullable=True))
    op.add_column('tickets', sa.Column('ticket_type_id', sa.UUID(), nullable=True))
    op.add_column('tickets', sa.Column('qr_payload', sa.Text(), nullable=True))
    op.add_column('tickets', sa.Column('holder_email', sa.String(length=320), nullable=True))
    # The numbers every change to a ticket takes (the scanners' sync cursor).
    op.execute("CREATE SEQUENCE ticket_changes")
    op.add_column('tickets', sa.Column('change_seq', sa.BigInteger(), server_default=sa.text("nextval('ticket_changes')"), nullable=False))
    op.create_index('ix_tickets_event_changes', 'tickets', ['event_id', 'change_seq'], unique=False)
    op.create_index('ix_tickets_holder_email', 'tickets', ['event_id', sa.literal_column('lower(holder_email)')], unique=False)
    op.create_index('ix_tickets_holder_search', 'tickets', ['event_id', sa.literal_column('lower(holder_name)')], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_tickets_holder_search', table_name='tickets')
    op.drop_index('ix_tickets_holder_email', table_name='tickets')
    op.drop_index('ix_tickets_event_changes', table_name='tickets')
    op.drop_column('tickets', 'change_seq')
    op.execute("DROP SEQUENCE ticket_changes")
    op.drop_column('tickets', 'holder_email')
    op.drop_column('tickets', 'qr_payload')
    op.drop_column('tickets', 'ticket_type_id')
    op.drop_column('tickets', 'event_name')
    op.drop_column('scans', 'device_id')
    op.drop_column('check_ins', 'revert_reason')
    op.drop_column('check_ins', 'reverted_by')
    op.drop_column('check_ins', 'recorded_at')
    op.drop_column('check_ins', 'device_id')
    op.drop_column('check_in_lists', 'allow_reentry')
    op.drop_column('check_in_lists', 'allow_exit')
    op.drop_column('check_in_lists', 'valid_until')
    op.drop_column('check_in_lists', 'valid_from')
    op.drop_column('check_in_lists', 'ticket_type_ids')
    op.drop_index('ix_check_in_conflicts_list', table_name='check_in_conflicts')
    op.drop_table('check_in_conflicts')
    op.drop_index('ix_passages_ticket_list', table_name='passages')
    op.drop_table('passages')
    op.drop_index(op.f('ix_devices_event_id'), table_name='devices')
    op.drop_table('devices')
