"""What the pages share: the app's parts (``Web``), rendering a template, and who is signed in."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment

from vrac_web.errors import PageError
from vrac_web.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    language_of,
    time_zone_of,
    translator,
    written,
)
from vrac_web.oidc import Provider, SignInFailed
from vrac_web.services import Services
from vrac_web.session import Staff, csrf_token, family_of, session_of, staff_of
from vrac_web.settings import WebSettings

REFRESH_BEFORE_SECONDS = 30


@dataclass
class Web:
    settings: WebSettings
    services: Services
    templates: Environment
    provider: Provider | None  # None: no identity provider configured (development only)


def web_of(app: FastAPI) -> Web:
    web: Web = app.state.web
    return web


class SignInNeeded(Exception):
    """Not signed in: the page sends the person to sign in, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path

    @property
    def location(self) -> str:
        return f"/sign-in?next={quote(self.next_path, safe='/')}"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page: ``template`` with the person's language, CSRF token and who they are."""
    web = web_of(request.app)
    session = session_of(request)
    language = language_of(request)
    values = {
        "request": request,
        "t": translator(language),
        "lang": language,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "csrf_token": csrf_token(session),
        "staff": staff_of(session),
        "family": family_of(session),
        "development": web.settings.development,
        **(context or {}),
    }
    # in the page's language, whichever ``t`` the context settled on, and the pilot's time
    values["written"] = partial(written, values["t"], zone=time_zone_of(request))
    html = web.templates.get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


async def signed_in_staff(request: Request) -> Staff:
    """The signed-in staff member, their access token renewed when it is about to expire."""
    session = session_of(request)
    staff = staff_of(session)
    if staff is None:
        raise SignInNeeded(request.url.path)
    if session.get("expires_at", 0) - REFRESH_BEFORE_SECONDS > time.time():
        return staff
    provider = web_of(request.app).provider
    if provider is None or not session.get("refresh"):
        session.clear()
        raise SignInNeeded(request.url.path)
    try:
        renewed = await provider.refresh(session["refresh"])
    except SignInFailed:
        session.clear()
        raise SignInNeeded(request.url.path) from None
    session.update(access=renewed.access, refresh=renewed.refresh, expires_at=renewed.expires_at)
    session.changed = True
    return staff_of(session) or staff


def staff_with(*roles: str) -> Any:
    """A dependency: the signed-in staff member, when their role is one of ``roles``."""

    async def dependency(staff: Annotated[Staff, Depends(signed_in_staff)]) -> Staff:
        if staff.role not in roles and staff.role != "admin":
            raise PageError.no_access()
        return staff

    return Depends(dependency)


def see_other(location: str) -> RedirectResponse:
    """After a form: the page to show next, fetched afresh (a reload sends nothing again)."""
    return RedirectResponse(location, status_code=303)


def services_of(request: Request) -> Services:
    return web_of(request.app).services
