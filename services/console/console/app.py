"""Wiring of the console: pages, static files, error pages, health."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ticketflow_runtime.telemetry import configure_logging

from . import pages
from .settings import Settings
from .staff import SignInRequired
from .upstream import UpstreamError, upstream_for
from .rendering import render

NAME = "console"
STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(NAME, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.upstream = upstream_for(settings)
        yield
        await app.state.upstream.http.aclose()

    app = FastAPI(title="ticketflow console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in pages.routers:
        app.include_router(router)
    _install_error_pages(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # Link tokens travel in URLs: no Referer may carry them to another site.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.get("/livez", include_in_schema=False)
    @app.get("/readyz", include_in_schema=False)
    async def health() -> dict[str, str]:
        # No state of its own: ready as soon as it serves.
        return {"status": "ok"}

    return app


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, _: SignInRequired) -> Response:
        target = f"/sign-in?next={quote(request.url.path + ('?' + request.url.query if request.url.query else ''))}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(UpstreamError)
    async def upstream_failed(request: Request, error: UpstreamError) -> Response:
        # The service's 4xx is the visitor's to fix; its failure is not the console's 500.
        status = error.status if 400 <= error.status < 500 else 502
        return render(request, "error.html.j2", status_code=status, status=status, message=error.message,
                      code=error.code)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, error: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in error.errors()]
        return render(request, "error.html.j2", status_code=422, status=422, code="invalid_input",
                      message="Some of what was sent is not valid.", problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = "There is no such page." if error.status_code == 404 else str(error.detail)
        return render(request, "error.html.j2", status_code=error.status_code, status=error.status_code,
                      code="http_error", message=message)
