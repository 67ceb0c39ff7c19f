"""an order's tickets are taken from the counters as its transaction commits

Revision ID: 5e0c3f1b8d24
Revises: c41d2e7f9a10
Create Date: 2026-11-27 18:40:00.000000

All orders for an event update its one counter row, and a row stays locked
until the commit that follows the update. Taken by the client, the lock would
span a round trip and the event loop's latency before the commit; taken in a
deferred constraint trigger, it spans only the commit itself (its WAL flush).
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '5e0c3f1b8d24'
down_revision: Union[str, Sequence[str], None] = 'c41d2e7f9a10'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# The event's capacity first, then each ticket type's quota in id order (as a cancellation
# gives them back), so concurrent orders lock in one order. A refusal is raised with the
# API's error in its detail (see ticketflow_runtime.errors): the order rolls back whole.
TAKE_TICKETS = r"""
CREATE FUNCTION take_placed_order_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    placed record;
    wanted record;
    left_over integer;
    type_name text;
BEGIN
    SELECT event_id, quantity INTO placed FROM orders WHERE id = NEW.order_id;
    UPDATE events SET sold = sold + placed.quantity
    WHERE id = placed.event_id AND sold + placed.quantity <= capacity;
    IF NOT FOUND THEN
        SELECT greatest(capacity - sold, 0) INTO left_over FROM events WHERE id = placed.event_id;
        RAISE EXCEPTION 'Only % tickets are left for this event.', left_over
            USING DETAIL = json_build_object('code', 'sold_out', 'available', left_over)::text;
    END IF;
    FOR wanted IN
        SELECT ticket_type_id, sum(quantity)::integer AS quantity FROM order_lines
        WHERE order_id = NEW.order_id GROUP BY ticket_type_id ORDER BY ticket_type_id
    LOOP
        UPDATE ticket_types SET sold = sold + wanted.quantity
        WHERE id = wanted.ticket_type_id AND (quota IS NULL OR sold + wanted.quantity <= quota);
        IF NOT FOUND THEN
            SELECT greatest(quota - sold, 0), name INTO left_over, type_name
            FROM ticket_types WHERE id = wanted.ticket_type_id;
            RAISE EXCEPTION 'Only % ''%'' tickets are left.', left_over, type_name
                USING DETAIL = json_build_object('code', 'quota_exhausted', 'available', left_over,
                                                 'ticket_type_id', wanted.ticket_type_id)::text;
        END IF;
    END LOOP;
    RETURN NULL;
END
$$
"""

# An order's first transition (from no status) is recorded when it is placed, once.
TAKE_AT_COMMIT = """
CREATE CONSTRAINT TRIGGER take_tickets_at_commit AFTER INSERT ON order_transitions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.from_status IS NULL)
    EXECUTE FUNCTION take_placed_order_tickets()
"""


def upgrade() -> None:
    """Upgrade schema."""
    op.execute(TAKE_TICKETS)
    op.execute(TAKE_AT_COMMIT)


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DROP TRIGGER take_tickets_at_commit ON order_transitions")
    op.execute("DROP FUNCTION take_placed_order_tickets()")
