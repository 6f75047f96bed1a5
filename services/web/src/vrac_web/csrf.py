"""CSRF protection: every form that changes something carries the session's token.

Pages put ``csrf_token`` in a hidden field of each POST form (and htmx sends it as the
``X-CSRF-Token`` header, set once on the page's body); :func:`checked_form` refuses a POST whose
token is missing or not the session's. The cookie is also ``SameSite=Lax``; the token is what
protects a browser that ignores that.
"""

from __future__ import annotations

import hmac
from typing import Final

from fastapi import Request
from starlette.datastructures import FormData

from vrac_web.errors import PageError
from vrac_web.session import session_of

FIELD: Final = "csrf_token"
HEADER: Final = "X-CSRF-Token"


async def checked_form(request: Request) -> FormData:
    """The request's form, when its CSRF token is the session's; else a 403 page."""
    form = await request.form()
    sent = request.headers.get(HEADER) or form.get(FIELD)
    expected = session_of(request).get("csrf")
    if not (isinstance(sent, str) and isinstance(expected, str)):
        raise PageError.forbidden_form()
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PageError.forbidden_form()
    return form
