"""The web app's ASGI application: its pages, the session, error pages and safe headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from vrac_runtime.logging import get_logger

from vrac_web.deps import SignInNeeded, Web, render
from vrac_web.errors import PageError
from vrac_web.oidc import Provider
from vrac_web.services import Services
from vrac_web.session import SessionMiddleware
from vrac_web.settings import WebSettings

log = get_logger(__name__)


def templates() -> Environment:
    return Environment(
        loader=PackageLoader("vrac_web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def create_app(
    settings: WebSettings,
    routers: Iterable[APIRouter],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The app for ``settings`` serving ``routers``; ``transport`` replaces the network
    under the HTTP clients (unit tests of a page)."""
    services = Services(settings.service_urls, settings.request_timeout_seconds, transport)
    provider_http = httpx.AsyncClient(timeout=settings.request_timeout_seconds, transport=transport)
    provider = (
        Provider(settings.oidc_issuer, settings.oidc_client_id, provider_http)
        if settings.oidc_issuer
        else None
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await services.aclose()
        await provider_http.aclose()

    app = FastAPI(title="VRAC", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.settings = settings
    app.state.web = Web(settings, services, templates(), provider)
    for router in routers:
        app.include_router(router)
    app.include_router(health_router())
    static = resources.files("vrac_web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    install_error_pages(app)
    app.add_middleware(
        SessionMiddleware,
        secrets_=settings.session_secrets,
        max_age=int(settings.session_hours * 3600),
        secure=settings.secure_cookies,
    )
    app.add_middleware(SafeHeaders, identity_provider=settings.oidc_issuer)
    return app


def health_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/health/ready")
    async def ready() -> dict[str, str]:
        # the services and the identity provider being away is a page the person sees, not a
        # reason to take the web app out of the load balancer
        return {"status": "ok"}

    return router


def install_error_pages(app: FastAPI) -> None:
    async def page_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, PageError)
        return render(request, "error.html", {"error": error}, status=error.status)

    async def sign_in_needed(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInNeeded)
        return RedirectResponse(error.location, status_code=303)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 404:
            return await page_error(request, PageError.not_found())
        if error.status_code == 405:
            return await page_error(
                request, PageError(405, "Not found", "This page does not take that request.")
            )
        return await page_error(
            request, PageError(error.status_code, "Something went wrong", "Try again.")
        )

    async def bad_request(request: Request, error: Exception) -> Response:
        return await page_error(
            request, PageError(422, "Something is missing", "Go back and fill in the form again.")
        )

    async def unexpected(request: Request, error: Exception) -> Response:
        log.error("page failed", path=request.url.path, error=type(error).__name__)
        return await page_error(
            request,
            PageError(500, "Something went wrong", "This was our fault. Try again in a moment."),
        )

    app.add_exception_handler(PageError, page_error)
    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(Exception, unexpected)


class SafeHeaders:
    """Headers on every answer: no framing, no sniffing, no referrer (a link's token is in
    its address), nothing cached, and a content policy allowing this site's own scripts,
    styles and images only (forms may also lead to the identity provider, for signing out)."""

    def __init__(self, app: ASGIApp, identity_provider: str) -> None:
        self.app = app
        issuer = urlsplit(identity_provider)
        provider = f" {issuer.scheme}://{issuer.netloc}" if issuer.netloc else ""
        self.policy = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"frame-ancestors 'none'; base-uri 'none'; form-action 'self'{provider}"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                static = scope["path"].startswith("/static/")
                for name, value in (
                    ("content-security-policy", self.policy),
                    ("x-content-type-options", "nosniff"),
                    ("referrer-policy", "no-referrer"),
                    ("x-frame-options", "DENY"),
                    ("cache-control", "public, max-age=3600" if static else "no-store"),
                ):
                    headers.append((name.encode(), value.encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)
