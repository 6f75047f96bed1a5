"""The session: a signed, HTTP-only, same-site cookie, and who it signs in.

The cookie holds a small JSON document signed with ``VRAC_WEB_SESSION_KEYS`` (itsdangerous;
the first key signs, every key verifies, so a key is rotated by putting a new one first). It
is signed, not encrypted: it holds the person's own tokens and nothing about a child. The web
app keeps no session store, so any replica serves any request.

A session is one of three kinds:

- ``staff``: signed in through OpenID Connect (or the development sign-in): the access token
  the services accept, its refresh token, role, pilot and subject;
- ``family``: a parent who opened the signed link of their e-mail; the link is their token;
- ``helper`` sessions are not kept: a helper's link is in the page's own address.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE: Final = "vrac_session"
SALT: Final = "vrac-web-session"


class Session(dict[str, Any]):
    """The session's values; ``changed`` tells the middleware to write the cookie again."""

    changed: bool = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.changed = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changed = True
        super().__delitem__(key)

    def pop(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.changed = self.changed or key in self
        return super().pop(key, default)

    def clear(self) -> None:
        self.changed = True
        super().clear()

    def start(self, **values: Any) -> None:
        """A new session (a sign-in, a link opened): nothing of the old one survives, the
        CSRF token included, so a token fixed before the sign-in is worthless after it."""
        language = self.get("lang")
        self.clear()
        if language:
            self["lang"] = language
        self.update(values)
        self.changed = True


class SessionMiddleware:
    """Reads the cookie into ``scope["session"]`` and writes it back when it changed."""

    def __init__(self, app: ASGIApp, secrets_: list[str], max_age: int, secure: bool) -> None:
        self.app = app
        self.serializer = URLSafeTimedSerializer(list(reversed(secrets_)), salt=SALT)
        self.max_age = max_age
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = Session(self._load(HTTPConnection(scope).cookies.get(COOKIE)))
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                MutableHeaders(scope=message).append("Set-Cookie", self._cookie(session))
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            loaded = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # forged, from an old key, or expired: a fresh session
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _cookie(self, session: Session) -> str:
        attributes = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        if not session:
            return f"{COOKIE}=; Max-Age=0; {attributes}"
        value = self.serializer.dumps(dict(session))
        return f"{COOKIE}={value}; Max-Age={self.max_age}; {attributes}"


def session_of(connection: HTTPConnection) -> Session:
    session: Session = connection.scope["session"]
    return session


@dataclass(frozen=True)
class Staff:
    """A person signed in with an account: a coach, a pilot lead..."""

    token: str
    role: str
    pilot: str
    subject: str


@dataclass(frozen=True)
class Family:
    """A parent who opened their family link: it opens one case."""

    token: str
    case_id: str


def staff_of(session: MutableMapping[str, Any]) -> Staff | None:
    if session.get("kind") != "staff":
        return None
    return Staff(session["access"], session["role"], session["pilot"], session["sub"])


def family_of(session: MutableMapping[str, Any]) -> Family | None:
    if session.get("kind") != "family":
        return None
    return Family(session["link"], session["case_id"])


def csrf_token(session: Session) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(24)
    return token
