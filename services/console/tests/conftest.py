"""The console without the stack: its pages over stand-in APIs (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from console.app import create_app
from console.settings import Settings, StaffUser
from console.staff import hash_password
from console.upstream import Upstream

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(session_secret="s" * 40, auth_jwt_secret="j" * 40,
                    staff_users=[StaffUser(username="alice", password_hash=hash_password(PASSWORD),
                                           scopes=["orders:read", "orders:write"])])


class Apis:
    """Answers the console's API calls from ``routes``: (method, path) -> a function of the request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        answer = self.routes.get((request.method, request.url.path))
        if answer is None:
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "Nothing here."}})
        return answer(request)


@pytest.fixture
def apis() -> Apis:
    return Apis()


@pytest.fixture
def client(settings: Settings, apis: Apis) -> TestClient:
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as test_client:
        bases = {name: f"http://{name}.test" for name in ("orders", "issuance", "assignment", "checkin",
                                                            "notifications")}
        app.state.upstream = Upstream(httpx.AsyncClient(transport=httpx.MockTransport(apis)), bases)
        yield test_client


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    response = client.post("/sign-in", data={"username": "alice", "password": PASSWORD, "next": "/"})
    assert response.status_code == 303
    return client
