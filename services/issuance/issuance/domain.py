"""Issuance rules: ticket numbers, signing keys and signed QR payloads. No I/O."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from ticketflow_schemas import qr

# Crockford's base32 without I, L, O, U: unambiguous when read aloud or typed at a desk.
_TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class TicketStatus(StrEnum):
    ISSUED = "issued"
    VOIDED = "voided"


def new_ticket_number() -> str:
    """A short human-readable ticket number, e.g. ``TF-7K3M-9QXD`` (40 random bits)."""
    bits = int.from_bytes(secrets.token_bytes(5))
    chars = "".join(_TICKET_ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"TF-{chars[:4]}-{chars[4:]}"


@dataclass(frozen=True)
class SigningKeyPair:
    key_id: int
    private_key: bytes  # raw 32-byte Ed25519 seed
    public_key: bytes  # raw 32-byte Ed25519 public key

    @classmethod
    def generate(cls) -> SigningKeyPair:
        key = Ed25519PrivateKey.generate()
        return cls(
            key_id=secrets.randbits(32),
            private_key=key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
            public_key=key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
        )

    @property
    def public_key_text(self) -> str:
        return qr.encode_raw(self.public_key)

    def sign_ticket(self, ticket_id: uuid.UUID, secret_version: int) -> str:
        """The ticket's QR payload for this secret version."""
        body = qr.QrBody(ticket_id=ticket_id, secret_version=secret_version, key_id=self.key_id)
        return qr.encode(body, self._signer.sign(body.signing_input()))

    @cached_property
    def _signer(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.private_key)
