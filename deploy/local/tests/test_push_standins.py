"""The FCM and APNs stand-ins refuse what Google and Apple would refuse.

Requests are built by hand (PyJWT, httpx) so each can be wrong in exactly one way;
the notifications service's own tests drive the stand-ins through its providers.
"""

from __future__ import annotations

import json
import ssl
import time
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ticketflow_local.push_standins import (
    FCM_SCOPE,
    GOOGLE_TOKEN_AUDIENCE,
    JWT_BEARER,
    ApnsStandin,
    FcmStandin,
    dev_credentials,
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("push-credentials")


@pytest.fixture(scope="module")
def fcm(folder):
    with FcmStandin(folder) as standin:
        yield standin


@pytest.fixture(scope="module")
def apns(folder, fcm):
    with ApnsStandin(folder) as standin:
        yield standin


# ------------------------------------------------------------------------- FCM


def assertion(fcm: FcmStandin, *, key: object | None = None, kid: str | None = None, **claims: object) -> str:
    """A JWT-bearer assertion as google-auth makes it; ``key``, ``kid`` and claims override one part."""
    account = fcm.account
    now = int(time.time())
    payload = {"iss": account["client_email"], "aud": GOOGLE_TOKEN_AUDIENCE, "scope": FCM_SCOPE,
               "iat": now, "exp": now + 3600, **claims}
    signing_key = key or serialization.load_pem_private_key(account["private_key"].encode(), password=None)
    return jwt.encode(payload, signing_key, algorithm="RS256", headers={"kid": kid or account["private_key_id"]})


def grant(fcm: FcmStandin, assertion: str, grant_type: str = JWT_BEARER) -> httpx.Response:
    return httpx.post(fcm.token_url, data={"grant_type": grant_type, "assertion": assertion})


def access_token(fcm: FcmStandin) -> str:
    response = grant(fcm, assertion(fcm))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return body["access_token"]


def send(fcm: FcmStandin, body: object, token: str | None, project: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    url = f"{fcm.base_url}/v1/projects/{project or fcm.account['project_id']}/messages:send"
    return httpx.post(url, json=body, headers=headers)


def fcm_message(token: str = "device-1", **fields: object) -> dict:
    return {"message": {"token": token, "notification": {"title": "T", "body": "B"}, "data": {"k": "v"}, **fields}}


def test_the_service_account_gets_an_access_token_for_its_own_token_url(fcm: FcmStandin) -> None:
    assert json.loads(fcm.credentials.service_account_file.read_text())["token_uri"] == fcm.token_url
    assert access_token(fcm).startswith("ya29.")
    assert grant(fcm, assertion(fcm, aud=fcm.token_url)).status_code == 200


@pytest.mark.parametrize(("forge", "error"), [
    (lambda fcm: assertion(fcm, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), "invalid_grant"),
    (lambda fcm: assertion(fcm, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), "invalid_grant"),
    (lambda fcm: assertion(fcm, iat=int(time.time()), exp=int(time.time()) + 7200), "invalid_grant"),
    (lambda fcm: assertion(fcm, aud="https://elsewhere.example/token"), "invalid_grant"),
    (lambda fcm: assertion(fcm, iss="someone@else.iam.gserviceaccount.com"), "invalid_grant"),
    (lambda fcm: assertion(fcm, kid="0" * 40), "invalid_grant"),
    (lambda fcm: assertion(fcm, scope="https://www.googleapis.com/auth/userinfo.email"), "invalid_scope"),
    (lambda fcm: "not-a-jwt", "invalid_grant"),
], ids=["forged", "expired", "too-long-lived", "wrong-audience", "wrong-issuer", "wrong-key-id", "wrong-scope",
        "garbage"])
def test_bad_assertions_get_no_token(fcm: FcmStandin, forge, error: str) -> None:
    grants = len(fcm.grants)
    response = grant(fcm, forge(fcm))
    assert response.status_code == 400 and response.json()["error"] == error
    assert len(fcm.grants) == grants


def test_only_the_jwt_bearer_grant_is_served(fcm: FcmStandin) -> None:
    response = grant(fcm, assertion(fcm), grant_type="client_credentials")
    assert response.status_code == 400 and response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("token", [None, "ya29.made-up"])
def test_sending_needs_an_access_token_from_the_token_endpoint(fcm: FcmStandin, token: str | None) -> None:
    response = send(fcm, fcm_message(), token)
    assert response.status_code == 401 and response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_sending_to_another_project_is_denied(fcm: FcmStandin) -> None:
    response = send(fcm, fcm_message(), access_token(fcm), project="someone-elses-project")
    assert response.status_code == 403 and response.json()["error"]["status"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(("body", "field"), [
    ({"message": {"notification": {"title": "T"}}}, None),
    (fcm_message(data={"count": 3}), "message.data[0].value"),
    (fcm_message(data={"from": "x"}), "message.data"),
    (fcm_message(notification={"title": 1}), "message.notification.title"),
    (fcm_message(priority="high"), None),
    ({"msg": {}}, "message"),
], ids=["no-token", "data-not-string", "reserved-data-key", "title-not-string", "unknown-field", "no-message"])
def test_malformed_messages_are_refused(fcm: FcmStandin, body: dict, field: str | None) -> None:
    response = send(fcm, body, access_token(fcm))
    error = response.json()["error"]
    assert response.status_code == 400 and error["status"] == "INVALID_ARGUMENT"
    violations = [v["field"] for d in error.get("details", []) for v in d.get("fieldViolations", [])]
    assert violations == ([field] if field else [])


def test_unregistered_and_flaky_tokens(fcm: FcmStandin) -> None:
    token = access_token(fcm)
    gone = send(fcm, fcm_message("invalid-1"), token)
    assert gone.status_code == 404 and gone.json()["error"]["details"] == [
        {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]
    assert send(fcm, fcm_message("flaky-1"), token).status_code == 503
    assert send(fcm, fcm_message("flaky-1"), token).status_code == 200


def test_received_lists_and_clears_accepted_messages(fcm: FcmStandin) -> None:
    httpx.delete(f"{fcm.base_url}/_test/received")
    answer = send(fcm, fcm_message("device-listed"), access_token(fcm)).json()
    [record] = httpx.get(f"{fcm.base_url}/_test/received").json()
    assert record["name"] == answer["name"] and record["message"]["token"] == "device-listed"
    assert httpx.delete(f"{fcm.base_url}/_test/received").status_code == 204
    assert httpx.get(f"{fcm.base_url}/_test/received").json() == []


# ------------------------------------------------------------------------ APNs


def provider_token(apns: ApnsStandin, *, key: object | None = None, algorithm: str = "ES256",
                   kid: str | None = None, **claims: object) -> str:
    c = apns.credentials
    signing_key = key or serialization.load_pem_private_key(c.apns_key_file.read_bytes(), password=None)
    payload = {"iss": c.apns_team_id, "iat": int(time.time()), **claims}
    return jwt.encode(payload, signing_key, algorithm=algorithm, headers={"kid": kid or c.apns_key_id})


@pytest.fixture
def apns_client(apns: ApnsStandin):
    context = ssl.create_default_context(cafile=str(apns.credentials.ca_file))
    with httpx.Client(base_url=apns.base_url, http2=True, verify=context) as client:
        yield client


def push(client: httpx.Client, apns: ApnsStandin, device: str = "abc123", *, token: str | None = "valid",
         body: bytes | None = None, **headers: str) -> httpx.Response:
    sent = {"apns-topic": apns.credentials.apns_topic, "apns-push-type": "alert", **headers}
    if token:
        sent["authorization"] = f"bearer {provider_token(apns) if token == 'valid' else token}"
    content = body if body is not None else json.dumps({"aps": {"alert": {"title": "T", "body": "B"}}}).encode()
    return client.post(f"/3/device/{device}", content=content, headers=sent)


def test_a_valid_push_is_accepted_over_http2(apns: ApnsStandin, apns_client: httpx.Client) -> None:
    response = push(apns_client, apns, "accepted-1")
    assert response.status_code == 200 and response.http_version == "HTTP/2" and response.headers["apns-id"]
    assert apns.received[-1]["token"] == "accepted-1" and apns.received[-1]["http_version"] == "2"


@pytest.mark.parametrize(("token", "reason"), [
    (None, "MissingProviderToken"),
    ("not-a-jwt", "InvalidProviderToken"),
    (lambda apns: provider_token(apns, key=ec.generate_private_key(ec.SECP256R1())), "InvalidProviderToken"),
    (lambda apns: provider_token(apns, kid="OTHERKEYID"), "InvalidProviderToken"),
    (lambda apns: provider_token(apns, iss="OTHERTEAM1"), "InvalidProviderToken"),
    (lambda apns: provider_token(apns, key=b"a shared secret is never an APNs p8 key", algorithm="HS256"),
     "InvalidProviderToken"),
    (lambda apns: provider_token(apns, iat=int(time.time()) - 2 * 3600), "ExpiredProviderToken"),
], ids=["missing", "garbage", "forged", "wrong-key-id", "wrong-team", "hs256", "expired"])
def test_bad_provider_tokens_are_refused(apns: ApnsStandin, apns_client: httpx.Client, token, reason: str) -> None:
    value = token(apns) if callable(token) else token
    response = push(apns_client, apns, "refused-1", token=value)
    assert response.status_code == 403 and response.json() == {"reason": reason}


@pytest.mark.parametrize(("headers", "status", "reason"), [
    ({"apns-topic": "app.someone.else"}, 400, "TopicDisallowed"),
    ({"apns-topic": ""}, 400, "MissingTopic"),
    ({"apns-push-type": "shout"}, 400, "InvalidPushType"),
    ({"apns-priority": "7"}, 400, "BadPriority"),
    ({"apns-collapse-id": "x" * 65}, 400, "BadCollapseId"),
], ids=["wrong-topic", "no-topic", "push-type", "priority", "collapse-id"])
def test_bad_headers_are_refused(apns: ApnsStandin, apns_client: httpx.Client, headers: dict, status: int,
                                 reason: str) -> None:
    response = push(apns_client, apns, "refused-2", **headers)
    assert response.status_code == status and response.json()["reason"] == reason


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"", 400, "PayloadEmpty"),
    (b'{"alert": "no aps"}', 400, "BadPayload"),
    (json.dumps({"aps": {}, "pad": "x" * 4096}).encode(), 413, "PayloadTooLarge"),
], ids=["empty", "no-aps", "too-large"])
def test_bad_payloads_are_refused(apns: ApnsStandin, apns_client: httpx.Client, body: bytes, status: int,
                                  reason: str) -> None:
    response = push(apns_client, apns, "refused-3", body=body)
    assert response.status_code == status and response.json()["reason"] == reason


def test_unregistered_and_flaky_devices(apns: ApnsStandin, apns_client: httpx.Client) -> None:
    gone = push(apns_client, apns, "invalid-1")
    assert gone.status_code == 410 and gone.json()["reason"] == "Unregistered"
    assert gone.json()["timestamp"] <= time.time() * 1000
    assert push(apns_client, apns, "flaky-1").status_code == 503
    assert push(apns_client, apns, "flaky-1").status_code == 200


def test_http1_is_refused(apns: ApnsStandin) -> None:
    context = ssl.create_default_context(cafile=str(apns.credentials.ca_file))
    with httpx.Client(base_url=apns.base_url, verify=context) as client:
        response = push(client, apns, "refused-4")
    assert response.http_version == "HTTP/1.1" and response.status_code == 505
    assert all(r["token"] != "refused-4" for r in apns.received)


def test_the_certificate_is_trusted_only_through_the_ca_file(apns: ApnsStandin) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{apns.base_url}/_test/received")


def test_received_lists_and_clears_accepted_pushes(apns: ApnsStandin, apns_client: httpx.Client) -> None:
    apns_client.delete("/_test/received")
    push(apns_client, apns, "listed-1")
    assert [r["token"] for r in apns_client.get("/_test/received").json()] == ["listed-1"]
    apns_client.delete("/_test/received")
    assert apns_client.get("/_test/received").json() == []


# ----------------------------------------------------------------- credentials


def test_dev_credentials_are_created_once_and_kept(tmp_path) -> None:
    first = dev_credentials(tmp_path, "http://127.0.0.1:5001")
    files = [first.service_account_file, first.apns_key_file, first.ca_file, first.tls_cert_file, first.tls_key_file]
    contents = [f.read_bytes() for f in files]
    assert oct(first.apns_key_file.stat().st_mode & 0o777) == "0o600"

    again = dev_credentials(tmp_path)
    assert [f.read_bytes() for f in files] == contents and again == first

    moved = dev_credentials(tmp_path, "http://127.0.0.1:5002")
    account = json.loads(moved.service_account_file.read_text())
    assert account["token_uri"] == "http://127.0.0.1:5002/token"
    assert account["private_key"] == json.loads(contents[0])["private_key"]
    assert urlsplit(account["token_uri"]).path == "/token" and account["type"] == "service_account"
