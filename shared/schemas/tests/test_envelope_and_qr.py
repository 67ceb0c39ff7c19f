import uuid

import pytest

from ticketflow_schemas import qr
from ticketflow_schemas.envelope import Envelope, EnvelopeError


def test_envelope_round_trips_through_kafka_headers() -> None:
    envelope = Envelope.for_service("orders", type="ticketflow.order.settled.v1", subject="o-1")
    headers = [(k, v.encode()) for k, v in envelope.to_headers().items()]
    assert Envelope.from_headers(headers) == envelope
    assert envelope.to_headers()["ce_time"].endswith("Z")


@pytest.mark.parametrize("missing", ["ce_id", "ce_type", "ce_source", "ce_subject", "ce_specversion"])
def test_envelope_without_a_required_header_is_refused(missing: str) -> None:
    headers = Envelope.for_service("orders", type="ticketflow.order.settled.v1", subject="o").to_headers()
    del headers[missing]
    with pytest.raises(EnvelopeError):
        Envelope.from_headers(headers)


def test_qr_payload_round_trip_and_malformed_input() -> None:
    body = qr.QrBody(uuid.uuid4(), 3, 0xDEADBEEF)
    payload = qr.encode(body, bytes(range(64)))
    assert qr.decode(payload) == (body, bytes(range(64)))
    assert qr.key_id_text(body.key_id) == "deadbeef"
    for bad in ["", "not base64 !", payload[:-4], payload + "AAAA", "A" * 119]:
        with pytest.raises(qr.MalformedPayload):
            qr.decode(bad)
