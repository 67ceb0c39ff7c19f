import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from checkin.domain import ScanResult, ticket_state_result
from ticketflow_schemas import qr


def signed(key: Ed25519PrivateKey, ticket_id: uuid.UUID, version: int = 1) -> tuple[qr.QrBody, bytes]:
    body = qr.QrBody(ticket_id, version, 7)
    return body, key.sign(body.signing_input())


def public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_genuine_signature_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    body, signature = signed(key, uuid.uuid4())
    assert qr.signature_valid(body, signature, public(key))


def test_tampered_body_forged_signature_or_other_key_fail() -> None:
    key = Ed25519PrivateKey.generate()
    body, signature = signed(key, uuid.uuid4())
    assert not qr.signature_valid(qr.QrBody(uuid.uuid4(), body.secret_version, body.key_id), signature, public(key))
    assert not qr.signature_valid(qr.QrBody(body.ticket_id, 2, body.key_id), signature, public(key))
    assert not qr.signature_valid(body, bytes(64), public(key))
    assert not qr.signature_valid(body, signature, public(Ed25519PrivateKey.generate()))
    assert not qr.signature_valid(body, signature, b"short")


def test_ticket_state() -> None:
    assert ticket_state_result(voided=True, current_secret_version=1, scanned_secret_version=1) is ScanResult.VOIDED
    assert ticket_state_result(voided=False, current_secret_version=2, scanned_secret_version=1) is ScanResult.REVOKED
    assert ticket_state_result(voided=False, current_secret_version=2, scanned_secret_version=2) is None
    # Newer than the projection (reissue not yet seen at the gate) is still genuine.
    assert ticket_state_result(voided=False, current_secret_version=1, scanned_secret_version=2) is None
