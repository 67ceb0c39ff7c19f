import re
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from issuance.domain import SigningKeyPair, new_ticket_number
from ticketflow_schemas import qr


def test_ticket_numbers_are_short_and_unambiguous() -> None:
    numbers = {new_ticket_number() for _ in range(2000)}
    assert len(numbers) == 2000
    assert all(re.fullmatch(r"TF-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", n) for n in numbers)


def test_a_signed_payload_carries_ticket_version_and_key_and_verifies() -> None:
    key = SigningKeyPair.generate()
    ticket_id = uuid.uuid4()
    payload = key.sign_ticket(ticket_id, 2)
    assert len(payload) == 119
    body, signature = qr.decode(payload)
    assert (body.ticket_id, body.secret_version, body.key_id) == (ticket_id, 2, key.key_id)
    Ed25519PublicKey.from_public_bytes(key.public_key).verify(signature, body.signing_input())


def test_payload_holds_no_personal_data() -> None:
    payload = SigningKeyPair.generate().sign_ticket(uuid.uuid4(), 1)
    assert qr.PAYLOAD_SIZE == 89
    assert "@" not in payload
