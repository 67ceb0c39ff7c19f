"""The push providers against local stand-ins that speak FCM's and APNs' HTTP APIs.

Each check goes through the real client path: google-auth's token grant and httpx for
FCM, an ES256 provider token over HTTP/2 with TLS for APNs. The stand-ins record what
they accepted, so delivery and authentication are checked on the receiving side.
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from notifications.push import PushMessage, PushResult, providers_from_settings, retry_after_seconds
from notifications.push.apns import ApnsProvider, apns_outcome
from notifications.push.fcm import FCM_SCOPE, FcmProvider, fcm_outcome
from ticketflow_local.push_standins import ApnsStandin, FcmStandin


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("push-credentials")


@pytest.fixture(scope="module")
def fcm_standin(folder):
    with FcmStandin(folder) as standin:
        yield standin


@pytest.fixture(scope="module")
def apns_standin(folder, fcm_standin):  # after FCM: both share the folder's credentials
    with ApnsStandin(folder) as standin:
        yield standin


@pytest.fixture
async def fcm(fcm_standin: FcmStandin):
    provider = FcmProvider(service_account_file=fcm_standin.credentials.service_account_file,
                           api_base=fcm_standin.base_url)
    yield provider
    await provider.aclose()


def apns_provider(standin: ApnsStandin, **overrides: object) -> ApnsProvider:
    c = standin.credentials
    settings = dict(key_file=c.apns_key_file, key_id=c.apns_key_id, team_id=c.apns_team_id, topic=c.apns_topic,
                    api_base=standin.base_url, ca_file=c.ca_file)
    return ApnsProvider(**{**settings, **overrides})


@pytest.fixture
async def apns(apns_standin: ApnsStandin):
    provider = apns_provider(apns_standin)
    yield provider
    await provider.aclose()


def message(token: str, platform: str = "android", **overrides: object) -> PushMessage:
    values = dict(title="Your ticket", body="Ticket TF-1 is yours", data={"ticket_id": "t-1", "kind": "assigned"})
    return PushMessage(token=token, platform=platform, **{**values, **overrides})  # type: ignore[arg-type]


def received(standin: FcmStandin | ApnsStandin, token: str) -> list[dict]:
    return [r for r in standin.received if (r["message"]["token"] if "message" in r else r["token"]) == token]


# ------------------------------------------------------------------------- FCM


async def test_fcm_delivers_with_the_service_accounts_access_token(fcm: FcmProvider, fcm_standin: FcmStandin) -> None:
    outcome = await fcm.send(message("device-a1", collapse_key="ticket-t-1"))

    assert outcome.result is PushResult.DELIVERED and outcome.status_code == 200
    [record] = received(fcm_standin, "device-a1")
    assert outcome.answer == record["name"] and record["name"].startswith("projects/ticketflow-local/messages/")
    assert record["message"]["notification"] == {"title": "Your ticket", "body": "Ticket TF-1 is yours"}
    assert record["message"]["data"] == {"ticket_id": "t-1", "kind": "assigned"}
    assert record["message"]["android"] == {"collapse_key": "ticket-t-1"}
    grant = next(g for g in fcm_standin.grants if g["access_token"] == record["access_token"])
    assert grant["client_email"] == fcm_standin.account["client_email"]
    assert FCM_SCOPE in grant["scope"].split()


async def test_fcm_fetches_the_access_token_once_and_reuses_it(fcm: FcmProvider, fcm_standin: FcmStandin) -> None:
    grants_before = len(fcm_standin.grants)

    outcomes = await asyncio.gather(*(fcm.send(message(f"device-b{i}")) for i in range(5)))
    outcomes.append(await fcm.send(message("device-b5")))

    assert all(o.result is PushResult.DELIVERED for o in outcomes)
    assert len(fcm_standin.grants) == grants_before + 1
    used = {received(fcm_standin, f"device-b{i}")[0]["access_token"] for i in range(6)}
    assert used == {fcm_standin.grants[-1]["access_token"]}


async def test_fcm_fetches_a_new_token_when_the_old_one_is_rejected(fcm: FcmProvider, fcm_standin: FcmStandin) -> None:
    assert (await fcm.send(message("device-c1"))).delivered
    fcm_standin._access_tokens.clear()  # as if revoked

    rejected = await fcm.send(message("device-c2"))
    assert rejected.result is PushResult.RETRY and rejected.status_code == 401
    assert (await fcm.send(message("device-c2"))).delivered
    assert received(fcm_standin, "device-c2")[0]["access_token"] == fcm_standin.grants[-1]["access_token"]


async def test_fcm_unregistered_token_is_invalid(fcm: FcmProvider, fcm_standin: FcmStandin) -> None:
    outcome = await fcm.send(message("invalid-d1"))

    assert outcome.result is PushResult.INVALID_TOKEN and outcome.status_code == 404
    assert "UNREGISTERED" in outcome.answer
    assert received(fcm_standin, "invalid-d1") == []


async def test_fcm_unavailable_is_retried_then_delivered(fcm: FcmProvider, fcm_standin: FcmStandin) -> None:
    first = await fcm.send(message("flaky-e1"))
    assert first.result is PushResult.RETRY and first.status_code == 503 and first.retry_after == 1.0
    assert received(fcm_standin, "flaky-e1") == []

    assert (await fcm.send(message("flaky-e1"))).result is PushResult.DELIVERED
    assert len(received(fcm_standin, "flaky-e1")) == 1


async def test_fcm_refused_message_fails_without_dropping_the_token(fcm: FcmProvider) -> None:
    outcome = await fcm.send(message("device-f1", data={"from": "reserved by FCM"}))

    assert outcome.result is PushResult.FAILED and outcome.status_code == 400
    assert "INVALID_ARGUMENT" in outcome.answer


async def test_fcm_refused_account_fails(fcm_standin: FcmStandin, tmp_path) -> None:
    account = {**fcm_standin.account, "client_email": "someone-else@ticketflow-local.iam.gserviceaccount.com"}
    (tmp_path / "account.json").write_text(json.dumps(account))
    provider = FcmProvider(service_account_file=tmp_path / "account.json", api_base=fcm_standin.base_url)
    try:
        outcome = await provider.send(message("device-g1"))
    finally:
        await provider.aclose()
    assert outcome.result is PushResult.FAILED and "invalid_grant" in outcome.answer


# ------------------------------------------------------------------------ APNs


async def test_apns_delivers_over_http2_with_an_es256_provider_token(
    apns: ApnsProvider, apns_standin: ApnsStandin
) -> None:
    outcome = await apns.send(message("a1b2c3", "ios", collapse_key="ticket-t-1"))

    assert outcome.result is PushResult.DELIVERED and outcome.status_code == 200
    [record] = received(apns_standin, "a1b2c3")
    assert outcome.answer == record["apns_id"]
    assert record["http_version"] == "2"
    assert record["jwt_header"]["alg"] == "ES256"
    assert record["jwt_header"]["kid"] == apns_standin.credentials.apns_key_id
    assert record["jwt_claims"]["iss"] == apns_standin.credentials.apns_team_id
    assert record["topic"] == apns_standin.credentials.apns_topic
    assert (record["push_type"], record["priority"], record["collapse_id"]) == ("alert", "10", "ticket-t-1")
    assert record["payload"] == {"aps": {"alert": {"title": "Your ticket", "body": "Ticket TF-1 is yours"}},
                                 "ticket_id": "t-1", "kind": "assigned"}


async def test_apns_reuses_its_provider_token(apns: ApnsProvider, apns_standin: ApnsStandin) -> None:
    for token in ("b1", "b2"):
        assert (await apns.send(message(token, "ios"))).delivered
    first, second = received(apns_standin, "b1")[0], received(apns_standin, "b2")[0]
    assert first["jwt_claims"] == second["jwt_claims"]
    assert apns.provider_token() == apns.provider_token()


async def test_apns_unregistered_token_is_invalid(apns: ApnsProvider, apns_standin: ApnsStandin) -> None:
    outcome = await apns.send(message("invalid-c1", "ios"))

    assert outcome.result is PushResult.INVALID_TOKEN and outcome.answer == "410 Unregistered"
    assert received(apns_standin, "invalid-c1") == []


async def test_apns_unavailable_is_retried_then_delivered(apns: ApnsProvider, apns_standin: ApnsStandin) -> None:
    first = await apns.send(message("flaky-d1", "ios"))
    assert first.result is PushResult.RETRY and first.answer == "503 ServiceUnavailable"

    assert (await apns.send(message("flaky-d1", "ios"))).result is PushResult.DELIVERED
    assert len(received(apns_standin, "flaky-d1")) == 1


async def test_apns_wrong_topic_fails_without_dropping_the_token(apns_standin: ApnsStandin) -> None:
    provider = apns_provider(apns_standin, topic="app.someone.else")
    try:
        outcome = await provider.send(message("e1", "ios"))
    finally:
        await provider.aclose()
    assert outcome.result is PushResult.FAILED and outcome.answer == "400 TopicDisallowed"


async def test_apns_trusts_only_the_configured_ca(apns_standin: ApnsStandin) -> None:
    provider = apns_provider(apns_standin, ca_file=None)  # the system's roots do not know the stand-in
    try:
        outcome = await provider.send(message("f1", "ios"))
    finally:
        await provider.aclose()
    assert outcome.result is PushResult.RETRY and "CERTIFICATE_VERIFY_FAILED" in outcome.answer
    assert received(apns_standin, "f1") == []


# ---------------------------------------------------------------------- routing


async def test_one_interface_routes_each_platform_to_its_provider(
    fcm_standin: FcmStandin, apns_standin: ApnsStandin
) -> None:
    c = fcm_standin.credentials
    router = providers_from_settings(
        fcm_api_base=fcm_standin.base_url, fcm_service_account_file=str(c.service_account_file), fcm_project_id="",
        apns_api_base=apns_standin.base_url, apns_key_file=str(c.apns_key_file), apns_key_id=c.apns_key_id,
        apns_team_id=c.apns_team_id, apns_topic=c.apns_topic, apns_ca_file=str(c.ca_file),
    )
    try:
        assert (await router.send(message("routed-android", "android"))).delivered
        assert (await router.send(message("routed-ios", "ios"))).delivered
    finally:
        await router.aclose()
    assert len(received(fcm_standin, "routed-android")) == 1 and received(apns_standin, "routed-android") == []
    assert len(received(apns_standin, "routed-ios")) == 1 and received(fcm_standin, "routed-ios") == []


async def test_a_platform_without_a_provider_fails(fcm_standin: FcmStandin) -> None:
    router = providers_from_settings(fcm_api_base=fcm_standin.base_url,
                                     fcm_service_account_file=fcm_standin.credentials.service_account_file,
                                     apns_key_file="", apns_key_id="", apns_team_id="", apns_topic="")
    try:
        outcome = await router.send(message("x1", "ios"))
    finally:
        await router.aclose()
    assert set(router.providers) == {"android"}
    assert outcome.result is PushResult.FAILED and "ios" in outcome.answer


async def test_an_unreachable_provider_is_retried(fcm_standin: FcmStandin, apns_standin: ApnsStandin) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    fcm = FcmProvider(service_account_file=fcm_standin.credentials.service_account_file, api_base=f"http://{closed}")
    apns = apns_provider(apns_standin, api_base=f"https://{closed}")
    try:
        assert (await fcm.send(message("y1"))).result is PushResult.RETRY
        assert (await apns.send(message("y1", "ios"))).result is PushResult.RETRY
    finally:
        await fcm.aclose()
        await apns.aclose()


# ------------------------------------------------------------ answer mapping


def fcm_answer(status: int, code: str, fcm_code: str | None = None, field: str | None = None,
               message: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    details: list[dict] = []
    if fcm_code:
        details.append({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code})
    if field:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field, "description": message}]})
    body = {"error": {"code": status, "message": message, "status": code, "details": details}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(("response", "expected"), [
    (fcm_answer(404, "NOT_FOUND", "UNREGISTERED"), PushResult.INVALID_TOKEN),
    (fcm_answer(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "message.token", "Invalid registration token"),
     PushResult.INVALID_TOKEN),
    (fcm_answer(400, "INVALID_ARGUMENT", None, None, "The registration token is not a valid FCM registration token"),
     PushResult.INVALID_TOKEN),
    (fcm_answer(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "message.data[0].value", "Invalid value"),
     PushResult.FAILED),
    (fcm_answer(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), PushResult.FAILED),
    (fcm_answer(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"), PushResult.FAILED),
    (fcm_answer(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), PushResult.RETRY),
    (fcm_answer(500, "INTERNAL", "INTERNAL"), PushResult.RETRY),
    (httpx.Response(502, text="<html>Bad Gateway</html>"), PushResult.RETRY),
])
def test_fcm_answers(response: httpx.Response, expected: PushResult) -> None:
    assert fcm_outcome(response).result is expected


@pytest.mark.parametrize(("status", "reason", "expected"), [
    (410, "Unregistered", PushResult.INVALID_TOKEN),
    (410, "ExpiredToken", PushResult.INVALID_TOKEN),
    (400, "BadDeviceToken", PushResult.INVALID_TOKEN),
    (400, "DeviceTokenNotForTopic", PushResult.INVALID_TOKEN),
    (400, "BadCollapseId", PushResult.FAILED),
    (403, "InvalidProviderToken", PushResult.FAILED),
    (403, "ExpiredProviderToken", PushResult.RETRY),
    (413, "PayloadTooLarge", PushResult.FAILED),
    (429, "TooManyRequests", PushResult.RETRY),
    (500, "InternalServerError", PushResult.RETRY),
    (503, "ServiceUnavailable", PushResult.RETRY),
])
def test_apns_answers(status: int, reason: str, expected: PushResult) -> None:
    outcome = apns_outcome(httpx.Response(status, json={"reason": reason}))
    assert outcome.result is expected and outcome.answer == f"{status} {reason}"


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("30") == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
