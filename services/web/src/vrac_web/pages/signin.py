"""Signing in and out, the language switch, and the home page that sends each person to
their own start page."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from vrac_contracts.values import Pilot
from vrac_runtime.auth import ALL_PILOTS, development_token

from vrac_web.csrf import checked_form
from vrac_web.deps import render, see_other, web_of
from vrac_web.errors import PageError
from vrac_web.i18n import LANGUAGES
from vrac_web.oidc import Challenge, SignInFailed
from vrac_web.session import family_of, session_of, staff_of

router = APIRouter()
CheckedForm = Annotated[FormData, Depends(checked_form)]

# the roles a person may take on the development sign-in page, each with its start page
HOME_OF_ROLE = {
    "coach": "/cases",
    "pilot-lead": "/report",
    "consortium": "/report",
    "admin": "/cases",
}
DEVELOPMENT_ROLES = ("coach", "pilot-lead")
DEVELOPMENT_HOURS = 8


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` when it is a path of this site; never another site (an open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    session = session_of(request)
    staff = staff_of(session)
    if staff is not None:
        return see_other(HOME_OF_ROLE.get(staff.role, "/signed-in"))
    if family_of(session) is not None:
        return see_other("/family")
    return see_other("/sign-in")


@router.get("/signed-in", include_in_schema=False)
async def signed_in_elsewhere(request: Request) -> Response:
    """A role with no pages here (an agency, a data-protection officer)."""
    if staff_of(session_of(request)) is None:
        return see_other("/sign-in")
    return render(request, "signin/no_pages.html")


@router.get("/sign-in", include_in_schema=False)
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    web = web_of(request.app)
    return render(
        request,
        "signin/sign_in.html",
        {
            "next": local_path(next),
            "provider": web.provider is not None,
            "roles": DEVELOPMENT_ROLES,
            "pilots": [p.value for p in Pilot],
        },
    )


@router.get("/sign-in/start", include_in_schema=False)
async def sign_in_start(request: Request, next: str | None = None) -> Response:
    web = web_of(request.app)
    if web.provider is None:
        return see_other("/sign-in")
    challenge = Challenge.new()
    session = session_of(request)
    session["oidc"] = {
        "state": challenge.state,
        "nonce": challenge.nonce,
        "verifier": challenge.verifier,
        "next": local_path(next),
    }
    try:
        url = await web.provider.authorization_url(_callback(request), challenge)
    except Exception:  # the provider away or misconfigured: a page, not a trace
        raise PageError.service_down("sign-in") from None
    return see_other(url)


@router.get("/sign-in/callback", include_in_schema=False)
async def sign_in_callback(
    request: Request, code: str | None = None, state: str | None = None
) -> Response:
    web = web_of(request.app)
    session = session_of(request)
    pending = session.pop("oidc")
    if web.provider is None or not isinstance(pending, dict) or not code:
        raise PageError(400, "Sign-in did not finish", "Start again from the sign-in page.")
    if state != pending.get("state"):
        raise PageError(400, "Sign-in did not finish", "Start again from the sign-in page.")
    challenge = Challenge(pending["state"], pending["nonce"], pending["verifier"])
    try:
        signed = await web.provider.exchange(code, _callback(request), challenge)
    except SignInFailed as failed:
        raise PageError(
            403, "Sign-in did not finish", "Start again from the sign-in page.", [str(failed)]
        ) from None
    except Exception:
        raise PageError.service_down("sign-in") from None
    session.start(
        kind="staff",
        access=signed.access,
        refresh=signed.refresh,
        expires_at=signed.expires_at,
        sub=signed.subject,
        role=signed.role,
        pilot=signed.pilot,
        via_provider=True,
    )
    return see_other(local_path(pending.get("next")))


@router.post("/sign-in/dev", include_in_schema=False)
async def sign_in_development(request: Request, form: CheckedForm) -> Response:
    """Development only: sign in as a role of a pilot, with a development-issuer token."""
    if not web_of(request.app).settings.development:
        raise PageError.not_found()
    role, pilot = str(form.get("role", "")), str(form.get("pilot", ""))
    if role not in DEVELOPMENT_ROLES or pilot not in {*Pilot, ALL_PILOTS}:
        raise PageError(422, "Sign-in did not finish", "Choose a role and a pilot.")
    subject = f"development-{role}-{pilot}"
    seconds = DEVELOPMENT_HOURS * 3600
    token = development_token(role=role, pilot=pilot, subject=subject, ttl=seconds)
    session_of(request).start(
        kind="staff",
        access=token,
        refresh="",
        expires_at=int(time.time()) + seconds,
        sub=subject,
        role=role,
        pilot=pilot,
    )
    return see_other(local_path(str(form.get("next", "")), HOME_OF_ROLE[role]))


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request, form: CheckedForm) -> Response:
    web = web_of(request.app)
    session = session_of(request)
    through_provider = bool(session.get("via_provider"))
    session.start()
    if through_provider and web.provider is not None:
        try:
            url = await web.provider.end_session_url(web.settings.public_url.rstrip("/") + "/")
        except Exception:
            url = None
        if url:
            return see_other(url)
    return see_other("/")


@router.post("/language", include_in_schema=False)
async def choose_language(
    request: Request, form: CheckedForm, lang: Annotated[str, Form()] = "en"
) -> Response:
    if lang in LANGUAGES:
        session_of(request)["lang"] = lang
    return see_other(local_path(str(form.get("next", "")), "/"))


def _callback(request: Request) -> str:
    return web_of(request.app).settings.public_url.rstrip("/") + "/sign-in/callback"
