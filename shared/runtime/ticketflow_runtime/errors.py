"""HTTP errors: a machine-readable code and a human message, always the same shape.

    {"error": {"code": "order_not_found", "message": "No order 3f2...", "details": {...}}}
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    # Positional-only, so that a detail may be called ``status`` or ``code``.
    def __init__(self, status: int, code: str, message: str, /, *, headers: dict[str, str] | None = None,
                 **details: Any) -> None:
        super().__init__(message)
        self.headers = headers
        """Response headers to send with the error (Retry-After, say)."""
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class NotFound(ApiError):
    def __init__(self, code: str, message: str, /, **details: Any) -> None:
        super().__init__(404, code, message, **details)


class Conflict(ApiError):
    def __init__(self, code: str, message: str, /, **details: Any) -> None:
        super().__init__(409, code, message, **details)


class Unprocessable(ApiError):
    def __init__(self, code: str, message: str, /, **details: Any) -> None:
        super().__init__(422, code, message, **details)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details or {}))
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"), headers=headers)


STATUS_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 415: "unsupported_media_type"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"], "type": e["type"]}
            for e in error.errors()
        ]
        summary = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:5])
        return error_response(422, "invalid_request", f"The request is not valid: {summary}", {"problems": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, error: DBAPIError) -> JSONResponse:
        # A value PostgreSQL cannot hold (a number out of its column's range, a NUL
        # character in text) is the client's mistake, whatever validation let it by.
        # A uniqueness the handler did not check first (two requests racing) conflicts with what is stored.
        if refused := find_cause(error, _DATA_ERRORS):
            return error_response(422, "invalid_value",
                                  f"A value in the request cannot be stored: {_first_line(refused)}.")
        # A check the database makes at commit (a deferred trigger) refuses with the API's
        # error as JSON in its detail: {"code": ..., and the details}.
        if (refusal := find_cause(error, (asyncpg.exceptions.RaiseError,))) and (details := _api_refusal(refusal)):
            return error_response(409, details.pop("code"), refusal.message, details)
        if clash := find_cause(error, (asyncpg.exceptions.UniqueViolationError,)):
            return error_response(409, "already_exists", f"This conflicts with what is stored: {_first_line(clash)}.")
        raise error


# The server's data exceptions (SQLSTATE class 22) and asyncpg's own, raised while encoding a parameter.
_DATA_ERRORS = (asyncpg.exceptions.DataError, asyncpg.exceptions._base.DataError)

# A statement that failed with one of these was refused whole (by the server, or before it was
# sent); a lost connection, unlike them, leaves unknown whether an autocommitted statement took effect.
REFUSED_BEFORE_WRITING = (asyncpg.exceptions.PostgresError, asyncpg.exceptions._base.DataError)


def find_cause(error: BaseException, kinds: tuple[type[BaseException], ...]) -> BaseException | None:
    """The first of ``error``'s causes (itself included, through SQLAlchemy's wrappers) that is one of ``kinds``."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, kinds):
            return cause
        cause = cause.__cause__ or getattr(cause, "orig", None)
    return None


def _first_line(error: BaseException) -> str:
    return str(error).split("\n")[0]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Not found"},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
}


def _api_refusal(raised: asyncpg.exceptions.RaiseError) -> dict[str, Any] | None:
    """The API error a database check raised as JSON in its detail ({"code": ..., details}), if it did."""
    try:
        details = json.loads(raised.detail or "")
    except ValueError:
        return None
    return details if isinstance(details, dict) and isinstance(details.get("code"), str) else None
