"""docs/api/ holds each service's current OpenAPI and AsyncAPI documents."""

import json

from ticketflow_local import docs
from ticketflow_schemas.topics import SERVICES


def test_committed_api_documents_are_up_to_date() -> None:
    outdated = docs.stale()
    assert not outdated, f"stale API documents, run `make docs`: {[p.name for p in outdated]}"


def test_every_service_documents_its_http_and_kafka_api() -> None:
    for service in SERVICES:
        openapi = json.loads((docs.DOCS_DIR / f"{service}.openapi.json").read_text())
        asyncapi = json.loads((docs.DOCS_DIR / f"{service}.asyncapi.json").read_text())
        assert {"/livez", "/readyz"} <= set(openapi["paths"]), service
        assert asyncapi["asyncapi"].startswith("3."), service
        assert asyncapi["channels"], f"{service} documents no Kafka channel"
