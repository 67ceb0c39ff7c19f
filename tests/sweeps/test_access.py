"""Access sweep: every operation, listed from the services' OpenAPI documents.

An operation with a security requirement must refuse a request without a
token, with a malformed one, an expired one, one from another installation
(signed with another key, or issued by another issuer) and a staff token
lacking its scopes. An operation without one is public: it must be rate
limited, unless it is a health probe or authenticated otherwise (the Stripe
webhook's signature, tested in tests/e2e/test_stripe_webhooks.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

import httpx
import pytest

from ticketflow_local.config import REPO_ROOT, service_url, stack_env
from ticketflow_local.flow import STAFF_SCOPES
from ticketflow_runtime.auth import mint_token
from ticketflow_schemas.topics import SERVICES

PUBLIC_WITHOUT_LIMIT = {"GET /livez", "GET /readyz", "POST /webhooks/stripe"}


def operations() -> list[tuple[str, str, str, dict]]:
    found = []
    for service in SERVICES:
        document = json.loads((REPO_ROOT / "docs" / "api" / f"{service}.openapi.json").read_text())
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                found.append((service, method.upper(), path, operation))
    return found


OPERATIONS = operations()
SECURED = [op for op in OPERATIONS if op[3].get("security")]
PUBLIC = [op for op in OPERATIONS if not op[3].get("security")]


def concrete(path: str) -> str:
    """The path with every parameter filled in: ids that exist nowhere."""
    return re.sub(r"{(\w+)}", lambda m: "not-a-token" if m.group(1) == "token" else str(uuid.uuid4()), path)


def required_scopes(operation: dict) -> set[str]:
    return {scope for requirement in operation["security"] for scope in requirement.get("staff", [])}


def bad_tokens(operation: dict) -> dict[str, tuple[str | None, int]]:
    """Each kind of refused credential, with the status it must get."""
    secret = stack_env()["AUTH_JWT_SECRET"]
    lacking = [scope for scope in STAFF_SCOPES if scope not in required_scopes(operation)]
    return {
        "missing": (None, 401),
        "malformed": ("not.a.jwt", 401),
        "expired": (mint_token(secret, "sweep", STAFF_SCOPES, ttl_seconds=-60), 401),
        "other installation's key": (mint_token("another-installation-secret", "sweep", STAFF_SCOPES), 401),
        "other issuer": (mint_token(secret, "sweep", STAFF_SCOPES, issuer="another-platform"), 401),
        "wrong scope": (mint_token(secret, "sweep", lacking), 403),
    }


def test_the_documents_list_secured_and_public_operations() -> None:
    assert len(SECURED) > 60 and PUBLIC
    for service, method, path, operation in SECURED:
        assert {"401", "403"} <= set(operation["responses"]), f"{service} {method} {path}"


@pytest.mark.parametrize("kind", ["missing", "malformed", "expired", "other installation's key", "other issuer",
                                  "wrong scope"])
async def test_every_secured_operation_refuses(stack, kind: str) -> None:
    async def attempt(client: httpx.AsyncClient, service: str, method: str, path: str, operation: dict):
        token, expected = bad_tokens(operation)[kind]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body = {} if method in {"POST", "PUT", "PATCH"} else None
        response = await client.request(method, service_url(service) + concrete(path), headers=headers, json=body)
        return f"{service} {method} {path}", expected, response

    async with httpx.AsyncClient(timeout=30) as client:
        answers = await asyncio.gather(*(attempt(client, *op) for op in SECURED))
    wrong = [f"{name}: {response.status_code} {response.text[:200]}" for name, expected, response in answers
             if response.status_code != expected or "code" not in response.json().get("error", {})]
    assert not wrong, f"{len(wrong)} operations let a {kind} token by or answered oddly:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("service", "method", "path"),
                         [(s, m, p) for s, m, p, _ in PUBLIC if f"{m} {p}" not in PUBLIC_WITHOUT_LIMIT])
async def test_every_public_operation_is_rate_limited_per_client(stack, service: str, method: str,
                                                                 path: str) -> None:
    operation = next(op for s, m, p, op in PUBLIC if (s, m, p) == (service, method, path))
    assert "429" in operation["responses"]
    limit, _, per = stack.extra_env["PUBLIC_RATE_LIMIT"].partition("/")
    assert per == "second", "the sweep outruns a per-second limit only"
    url = service_url(service) + concrete(path)
    # The services trust X-Forwarded-For from loopback, so each address is a client of its own.
    client_address = f"198.51.100.{uuid.uuid4().int % 250 + 1}"

    async def hit(client: httpx.AsyncClient, address: str) -> httpx.Response:
        return await client.request(method, url, json={} if method != "GET" else None,
                                    headers={"X-Forwarded-For": address})

    async with httpx.AsyncClient(timeout=30) as client:
        burst = await asyncio.gather(*(hit(client, client_address) for _ in range(int(limit) * 3 // 2)))
        refused = [r for r in burst if r.status_code == 429]
        assert refused, f"{len(burst)} requests in a burst, none refused"
        assert refused[0].json()["error"]["code"] == "rate_limited"
        assert int(refused[0].headers["Retry-After"]) >= 1
        another = await hit(client, "203.0.113.9")
    assert another.status_code != 429, "another client is not held back"
