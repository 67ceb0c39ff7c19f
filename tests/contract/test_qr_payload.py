"""The QR payload between issuance (signs) and checkin (verifies): round trips, and any tamper fails."""

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from issuance.domain import SigningKeyPair
from ticketflow_schemas import qr

KEY = SigningKeyPair.generate()
FOREIGN = SigningKeyPair.generate()

ticket_ids = st.uuids(version=4)
versions = st.integers(min_value=1, max_value=2**32 - 1)


@given(ticket_ids, versions)
def test_sign_encode_decode_verify_round_trip(ticket_id: uuid.UUID, version: int) -> None:
    body, signature = qr.decode(KEY.sign_ticket(ticket_id, version))
    assert (body.ticket_id, body.secret_version, body.key_id) == (ticket_id, version, KEY.key_id)
    assert qr.signature_valid(body, signature, KEY.public_key)


@settings(max_examples=30)
@given(ticket_ids, versions)
def test_every_single_bit_flip_is_detected(ticket_id: uuid.UUID, version: int) -> None:
    raw = bytearray(qr.decode_raw(KEY.sign_ticket(ticket_id, version)))
    for bit in range(len(raw) * 8):
        tampered = bytearray(raw)
        tampered[bit // 8] ^= 1 << (bit % 8)
        try:
            body, signature = qr.decode(qr.encode_raw(bytes(tampered)))
        except qr.MalformedPayload:
            continue  # the format version byte changed: refused before any key is looked up
        public_key = KEY.public_key if body.key_id == KEY.key_id else FOREIGN.public_key
        assert not qr.signature_valid(body, signature, public_key), f"bit {bit} flipped went unnoticed"


@given(ticket_ids, versions)
def test_a_payload_signed_by_a_foreign_key_is_refused(ticket_id: uuid.UUID, version: int) -> None:
    forged = FOREIGN.sign_ticket(ticket_id, version)
    body, signature = qr.decode(forged)
    assert not qr.signature_valid(body, signature, KEY.public_key)
