import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from checkin.domain import Direction, ScanResult, list_rule_result, passage_result, ticket_state_result
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
    # A number typed in has no code to be revoked; a void still holds.
    assert ticket_state_result(voided=False, current_secret_version=3, scanned_secret_version=None) is None
    assert ticket_state_result(voided=True, current_secret_version=3, scanned_secret_version=None) is ScanResult.VOIDED


def test_list_rules_refuse_other_ticket_types_and_scans_outside_the_window() -> None:
    pass_type, workshop = uuid.uuid4(), uuid.uuid4()
    now = datetime(2027, 5, 1, 9, tzinfo=UTC)
    rules = {"admits_types": [pass_type], "valid_from": now - timedelta(hours=1), "valid_until": now + timedelta(hours=1)}
    assert list_rule_result(**rules, ticket_type_id=pass_type, at=now) is None
    assert list_rule_result(**rules, ticket_type_id=workshop, at=now) is ScanResult.TICKET_TYPE_NOT_ON_LIST
    assert list_rule_result(**rules, ticket_type_id=None, at=now) is ScanResult.TICKET_TYPE_NOT_ON_LIST
    assert list_rule_result(**rules, ticket_type_id=pass_type, at=now - timedelta(hours=2)) is ScanResult.NOT_VALID_YET
    assert list_rule_result(**rules, ticket_type_id=pass_type, at=now + timedelta(hours=1)) is ScanResult.NO_LONGER_VALID
    assert list_rule_result(admits_types=None, valid_from=None, valid_until=None, ticket_type_id=None, at=now) is None


def test_entries_and_exits_follow_the_ticket_in_and_out() -> None:
    entry, exit_ = Direction.ENTRY, Direction.EXIT
    assert passage_result(direction=entry, admitted=False, inside=False, allow_reentry=False) is ScanResult.ADMITTED
    assert passage_result(direction=entry, admitted=True, inside=True, allow_reentry=True) is ScanResult.ALREADY_CHECKED_IN
    assert passage_result(direction=exit_, admitted=True, inside=True, allow_reentry=False) is ScanResult.EXITED
    assert passage_result(direction=exit_, admitted=True, inside=False, allow_reentry=True) is ScanResult.NOT_INSIDE
    assert passage_result(direction=exit_, admitted=False, inside=False, allow_reentry=True) is ScanResult.NOT_INSIDE
    assert passage_result(direction=entry, admitted=True, inside=False, allow_reentry=True) is ScanResult.ADMITTED
    assert passage_result(direction=entry, admitted=True, inside=False, allow_reentry=False) is ScanResult.ALREADY_CHECKED_IN
