"""Local stand-ins for the two push services the notifications service uses.

Test doubles, not push services: nothing reaches a phone and state is in memory. Each
speaks its provider's wire protocol, so a client written for the real service works
unchanged against it:

- **FCM** (Firebase Cloud Messaging HTTP v1, plain HTTP). ``POST /token`` is Google's
  OAuth2 token endpoint for service accounts: the JWT-bearer grant with an RS256
  assertion signed by the account's key (what ``google-auth`` sends).
  ``POST /v1/projects/{project}/messages:send`` takes a message with an access token
  from it and answers with FCM's bodies, errors included.
- **APNs** (HTTP/2 over TLS, as Apple's). ``POST /3/device/{token}`` with a provider
  token (ES256 JWT from the team's .p8 key) answers 200 with ``apns-id``, or Apple's
  status and ``{"reason": ...}``. Other HTTP versions get 505: Apple speaks only HTTP/2.

The device token picks the answer: ``invalid...`` is one the provider has dropped
(FCM 404 UNREGISTERED, APNs 410 Unregistered), ``flaky...`` fails once with 503 and
then goes through. Both record what they accept: ``GET /_test/received`` lists it,
``DELETE /_test/received`` clears it.

Both trust only the development credentials ``dev_credentials`` writes on first use
(a service-account JSON whose ``token_uri`` is the FCM stand-in, an APNs .p8 key, and
a CA with the APNs stand-in's TLS certificate):

    python -m ticketflow_local.push_standins fcm --port 12112 --dir .local/push
    python -m ticketflow_local.push_standins apns --port 12113 --dir .local/push
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import fcntl
import ipaddress
import json
import os
import secrets
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Self
from urllib.parse import parse_qsl

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import FCM_STANDIN_PORT, PushCredentials

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The audience Google's token endpoint expects, whatever address it is reached at: google-auth
# always puts it in the assertion, even with another ``token_uri``.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
ACCESS_TOKEN_SECONDS = 3600
CLOCK_SKEW = 60  # seconds of leeway on iat/exp, as Google and Apple allow for client clocks
APNS_TOKEN_MAX_AGE = 3600  # Apple refuses provider tokens older than an hour
APNS_MAX_PAYLOAD = 4096
APNS_PUSH_TYPES = {"alert", "background", "location", "voip", "complication", "fileprovider", "mdm",
                   "liveactivity", "pushtotalk", "controls", "widgets"}
FCM_MESSAGE_FIELDS = {"name", "data", "notification", "android", "webpush", "apns", "fcm_options",
                      "token", "topic", "condition"}
FCM_RESERVED_DATA = {"from", "notification", "message_type"}


# ----------------------------------------------------------------- credentials


def dev_credentials(folder: Path, fcm_base_url: str | None = None) -> PushCredentials:
    """Write whatever is missing of the development credentials in ``folder``; name their files.

    Files are created once under a lock, so both stand-ins and the services agree on the
    keys. ``fcm_base_url`` points the service account's ``token_uri`` at an FCM stand-in
    (by default the local stack's).
    """
    credentials = PushCredentials(Path(folder))
    credentials.folder.mkdir(parents=True, exist_ok=True)
    with _locked(credentials.folder / ".lock"):
        _service_account(credentials, fcm_base_url)
        if not credentials.apns_key_file.exists():
            _write(credentials.apns_key_file, _pem_key(ec.generate_private_key(ec.SECP256R1())))
        if not all(p.exists() for p in (credentials.ca_file, credentials.tls_cert_file, credentials.tls_key_file)):
            _tls_files(credentials)
    return credentials


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, content: str | bytes, mode: int = 0o600) -> None:
    """Atomically; private keys readable by the owner only."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(content.encode() if isinstance(content, str) else content)
    temporary.chmod(mode)
    os.replace(temporary, path)


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _service_account(credentials: PushCredentials, fcm_base_url: str | None) -> None:
    path = credentials.service_account_file
    token_uri = f"{(fcm_base_url or f'http://127.0.0.1:{FCM_STANDIN_PORT}').rstrip('/')}/token"
    if path.exists():
        account = json.loads(path.read_text())
        if fcm_base_url is None or account["token_uri"] == token_uri:
            return
        account["token_uri"] = token_uri
    else:
        project = credentials.fcm_project_id
        account = {
            "type": "service_account",
            "project_id": project,
            "private_key_id": secrets.token_hex(20),
            "private_key": _pem_key(rsa.generate_private_key(public_exponent=65537, key_size=2048)).decode(),
            "client_email": f"firebase-adminsdk@{project}.iam.gserviceaccount.com",
            "client_id": str(secrets.randbelow(10**21)).zfill(21),
            "token_uri": token_uri,
            "universe_domain": "googleapis.com",
        }
    _write(path, json.dumps(account, indent=2) + "\n")


def _tls_files(credentials: PushCredentials) -> None:
    """A CA (the file clients trust) and a certificate for localhost signed by it; the CA key is dropped."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ticketflow local push stand-in CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])).issuer_name(ca_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(credentials.tls_key_file, _pem_key(key))
    _write(credentials.tls_cert_file, leaf.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(credentials.ca_file, ca.public_bytes(serialization.Encoding.PEM), 0o644)


def _public_key(pem: str | bytes) -> Any:
    data = pem.encode() if isinstance(pem, str) else pem
    return serialization.load_pem_private_key(data, password=None).public_key()


# --------------------------------------------------------------------- serving


class _Standin:
    """Serves ``self.app`` with hypercorn on a socket bound at construction (port 0 picks a free one).

    The socket listens only once serving starts, after the credentials are written: the
    local infrastructure takes an open port for a ready server.
    """

    name = "push stand-in"
    scheme = "http"

    def __init__(self, port: int, host: str) -> None:
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.base_url = f"{self.scheme}://{host}:{self.port}"
        self.received: list[dict[str, Any]] = []
        self._failed_once: set[str] = set()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def routes(self) -> list[Route]:
        raise NotImplementedError

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[*self.routes(), Route("/_test/received", self._received, methods=["GET", "DELETE"])])

    async def _received(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.received.clear()
            return Response(status_code=204)
        return JSONResponse(self.received)

    def _fails_now(self, token: str) -> bool:
        """``flaky...`` tokens fail on their first attempt only."""
        if token.startswith("flaky") and token not in self._failed_once:
            self._failed_once.add(token)
            return True
        return False

    def config(self, log_level: str) -> Config:
        config = Config()
        # hypercorn owns (and closes) a duplicate, so our socket stays valid until stop().
        config.bind = [f"fd://{os.dup(self._socket.fileno())}"]
        config.loglevel = log_level
        config.accesslog = "-" if log_level == "info" else None
        config.graceful_timeout = 1
        return config

    async def serve(self, log_level: str = "info", shutdown: asyncio.Event | None = None) -> None:
        self._socket.listen(128)
        await serve(self.app, self.config(log_level), shutdown_trigger=shutdown.wait if shutdown else None)

    def start(self) -> Self:
        """Serve from a background thread; the socket listens before this returns, so clients can connect."""
        self._socket.listen(128)
        ready = threading.Event()

        def run() -> None:
            async def main() -> None:
                self._loop, self._stopping = asyncio.get_running_loop(), asyncio.Event()
                ready.set()
                await self.serve("warning", self._stopping)

            asyncio.run(main())

        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"the {self.name} did not start")
        return self

    def stop(self) -> None:
        if self._thread and self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)
        self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ------------------------------------------------------------------------- FCM


def fcm_error(status: int, code: str, message: str, *, fcm_code: str | None = None, field: str | None = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
    """A Google API error body, with FCM's error code and the offending field when there are."""
    details: list[dict[str, Any]] = []
    if fcm_code:
        details.append({"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code})
    if field:
        details.append({"@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": field, "description": message}]})
    error: dict[str, Any] = {"code": status, "message": message, "status": code}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status, headers=headers)


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def fcm_message_problem(body: Any) -> tuple[str, str | None] | None:
    """Why FCM would refuse this request body: (message, offending field), or None."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        return "Invalid JSON payload received. 'message' must be an object.", "message"
    if unknown := sorted(body.keys() - {"message", "validate_only"}):
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.', None
    message = body["message"]
    if unknown := sorted(message.keys() - FCM_MESSAGE_FIELDS):
        return f'Invalid JSON payload received. Unknown name "{unknown[0]}" at \'message\': Cannot find field.', None
    if not message.get("token"):
        return "Recipient of the message is not set.", None  # this stand-in serves device tokens only
    if not isinstance(message["token"], str):
        return "The registration token is not a valid FCM registration token", "message.token"
    notification = message.get("notification", {})
    if not isinstance(notification, dict):
        return "Invalid value at 'message.notification': must be an object.", "message.notification"
    for name, value in notification.items():
        if name not in ("title", "body", "image"):
            return f'Invalid JSON payload received. Unknown name "{name}" at \'message.notification\'.', None
        if not isinstance(value, str):
            field = f"message.notification.{name}"
            return f"Invalid value at '{field}' (TYPE_STRING), {json.dumps(value)}", field
    data = message.get("data", {})
    if not isinstance(data, dict):
        return "Invalid value at 'message.data': must be a map of strings.", "message.data"
    for index, (key, value) in enumerate(data.items()):
        if not isinstance(value, str):
            return f"Invalid value at 'message.data[{index}].value' (TYPE_STRING), {json.dumps(value)}", \
                f"message.data[{index}].value"
        if key in FCM_RESERVED_DATA or key.startswith(("google", "gcm")):
            return f"Invalid data payload key: {key}", "message.data"
    return None


class FcmStandin(_Standin):
    """Google's OAuth2 token endpoint and FCM's send endpoint, for one service account."""

    name = "FCM stand-in"

    def __init__(self, folder: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.token_url = f"{self.base_url}/token"
        self.credentials = dev_credentials(folder, fcm_base_url=self.base_url)
        self.account = json.loads(self.credentials.service_account_file.read_text())
        self._account_key = _public_key(self.account["private_key"])
        self.grants: list[dict[str, Any]] = []  # every access token handed out
        self._access_tokens: dict[str, float] = {}  # token -> expiry (unix time)

    def routes(self) -> list[Route]:
        return [Route("/token", self._token, methods=["POST"]),
                Route("/v1/projects/{project}/messages:send", self._send, methods=["POST"])]

    async def _token(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return oauth_error("invalid_request", "The request body must be application/x-www-form-urlencoded.")
        form = dict(parse_qsl((await request.body()).decode(errors="replace")))
        if form.get("grant_type") != JWT_BEARER:
            return oauth_error("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        assertion = form.get("assertion")
        if not assertion:
            return oauth_error("invalid_request", "Missing required parameter: assertion")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, self._account_key, algorithms=["RS256"],
                                audience=[GOOGLE_TOKEN_AUDIENCE, self.token_url], issuer=self.account["client_email"],
                                leeway=CLOCK_SKEW, options={"require": ["iss", "aud", "iat", "exp"]})
        except jwt.InvalidSignatureError:
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        except jwt.InvalidTokenError as error:
            return oauth_error("invalid_grant", f"Invalid JWT: {error}")
        if header.get("kid", self.account["private_key_id"]) != self.account["private_key_id"]:
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        if claims["exp"] - claims["iat"] > ACCESS_TOKEN_SECONDS:
            return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) "
                                                "and in a reasonable timeframe. Check your iat and exp values.")
        if FCM_SCOPE not in str(claims.get("scope", "")).split():
            return oauth_error("invalid_scope", f"The requested scope does not include {FCM_SCOPE}.")
        token = f"ya29.standin-{secrets.token_urlsafe(32)}"
        self._access_tokens[token] = time.time() + ACCESS_TOKEN_SECONDS
        self.grants.append({"client_email": claims["iss"], "scope": claims["scope"], "access_token": token})
        return JSONResponse({"access_token": token, "expires_in": ACCESS_TOKEN_SECONDS, "token_type": "Bearer"})

    async def _send(self, request: Request) -> Response:
        raw = await request.body()  # before any answer: hypercorn's HTTP/2 trips on data for a finished stream
        project = request.path_params["project"]
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or self._access_tokens.get(token, 0) < time.time():
            return fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. "
                                                     "Expected OAuth 2 access token, login cookie or other valid "
                                                     "authentication credential.")
        if project != self.account["project_id"]:
            return fcm_error(403, "PERMISSION_DENIED", f"Permission 'cloudmessaging.messages.create' denied on "
                                                       f"resource '//cloudresourcemanager.googleapis.com/projects/"
                                                       f"{project}' (or it may not exist).")
        try:
            body = json.loads(raw)
        except ValueError:
            return fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        if problem := fcm_message_problem(body):
            return fcm_error(400, "INVALID_ARGUMENT", problem[0], fcm_code="INVALID_ARGUMENT", field=problem[1])
        message = body["message"]
        if message["token"].startswith("invalid"):
            return fcm_error(404, "NOT_FOUND", "Requested entity was not found.", fcm_code="UNREGISTERED")
        if self._fails_now(message["token"]):
            return fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", fcm_code="UNAVAILABLE",
                             headers={"retry-after": "1"})
        if body.get("validate_only"):
            return JSONResponse({"name": f"projects/{project}/messages/fake_message_id"})
        name = f"projects/{project}/messages/0:{time.time_ns() // 1000}%{secrets.token_hex(8)}"
        self.received.append({"name": name, "project": project, "message": message,
                              "client_email": self.account["client_email"], "access_token": token,
                              "http_version": request.scope["http_version"]})
        return JSONResponse({"name": name})


# ------------------------------------------------------------------------ APNs


def apns_error(status: int, reason: str, apns_id: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"reason": reason, **extra}, status, headers={"apns-id": apns_id})


class ApnsStandin(_Standin):
    """Apple's provider API for one team, key and app (topic), over HTTP/2 with TLS."""

    name = "APNs stand-in"
    scheme = "https"

    def __init__(self, folder: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port, host)
        self.credentials = dev_credentials(folder)
        self._key = _public_key(self.credentials.apns_key_file.read_bytes())

    def routes(self) -> list[Route]:
        return [Route("/3/device/{token}", self._push, methods=["POST"])]

    def config(self, log_level: str) -> Config:
        config = super().config(log_level)
        config.certfile = str(self.credentials.tls_cert_file)
        config.keyfile = str(self.credentials.tls_key_file)
        return config

    def _provider_token_problem(self, authorization: str) -> tuple[str, dict, dict]:
        """(reason to refuse or "", JWT header, claims), checked as Apple checks provider tokens."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken", {}, {}
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self._key, algorithms=["ES256"], issuer=self.credentials.apns_team_id,
                                leeway=CLOCK_SKEW, options={"require": ["iss", "iat"]})
        except jwt.InvalidTokenError:
            return "InvalidProviderToken", {}, {}
        if header.get("kid") != self.credentials.apns_key_id:
            return "InvalidProviderToken", header, claims
        if time.time() - claims["iat"] > APNS_TOKEN_MAX_AGE:
            return "ExpiredProviderToken", header, claims
        return "", header, claims

    async def _push(self, request: Request) -> Response:
        raw = await request.body()  # before any answer: hypercorn's HTTP/2 trips on data for a finished stream
        headers = request.headers
        apns_id = headers.get("apns-id") or str(uuid.uuid4()).upper()
        if request.scope["http_version"] != "2":
            return apns_error(505, "HTTP/2 required", apns_id)
        problem, jwt_header, claims = self._provider_token_problem(headers.get("authorization", ""))
        if problem:
            return apns_error(403, problem, apns_id)
        topic = headers.get("apns-topic")
        if not topic:
            return apns_error(400, "MissingTopic", apns_id)
        if topic != self.credentials.apns_topic:
            return apns_error(400, "TopicDisallowed", apns_id)
        push_type = headers.get("apns-push-type", "alert")
        if push_type not in APNS_PUSH_TYPES:
            return apns_error(400, "InvalidPushType", apns_id)
        if headers.get("apns-priority", "10") not in ("1", "5", "10"):
            return apns_error(400, "BadPriority", apns_id)
        if len(headers.get("apns-collapse-id", "").encode()) > 64:
            return apns_error(400, "BadCollapseId", apns_id)
        if not headers.get("apns-expiration", "0").isdigit():
            return apns_error(400, "BadExpirationDate", apns_id)
        if not raw:
            return apns_error(400, "PayloadEmpty", apns_id)
        if len(raw) > APNS_MAX_PAYLOAD:
            return apns_error(413, "PayloadTooLarge", apns_id)
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            # Stricter than Apple, which would deliver it and let the app ignore it.
            return apns_error(400, "BadPayload", apns_id)
        token = request.path_params["token"]
        if token.startswith("invalid"):
            return apns_error(410, "Unregistered", apns_id, timestamp=int(time.time() * 1000))
        if self._fails_now(token):
            return apns_error(503, "ServiceUnavailable", apns_id)
        self.received.append({
            "apns_id": apns_id, "token": token, "topic": topic, "push_type": push_type,
            "priority": headers.get("apns-priority"), "collapse_id": headers.get("apns-collapse-id"),
            "expiration": headers.get("apns-expiration"), "payload": payload,
            "jwt_header": jwt_header, "jwt_claims": claims, "http_version": request.scope["http_version"],
        })
        return Response(status_code=200, headers={"apns-id": apns_id})


# ------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(prog="ticketflow_local.push_standins",
                                     description="Local stand-ins for FCM and APNs, for tests")
    parser.add_argument("service", choices=["fcm", "apns"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="where the development credentials live")
    args = parser.parse_args()
    kind = FcmStandin if args.service == "fcm" else ApnsStandin
    standin = kind(args.dir, args.port, args.host)
    print(f"[push-standins] {standin.name} at {standin.base_url}, credentials in {args.dir}", flush=True)
    asyncio.run(standin.serve())


if __name__ == "__main__":
    main()
