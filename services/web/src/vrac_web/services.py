"""Calls to the five services, with the person's own token.

The services decide what the person may see and do; this client only forwards the token and
turns the answers into what a page needs: the JSON of a success, a :class:`Refused` for a
request the service turned down for a reason the person can fix (409, 422: the page shows it
beside the form), and a :class:`~vrac_web.errors.PageError` for everything else (no access,
not found, a session or link that ended, a service that is away).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from vrac_web.errors import PageError

Who = Literal["staff", "family", "helper"]


@dataclass
class Refused(Exception):
    """The service refused the request for a reason in its words (and per field, for 422)."""

    status: int
    detail: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Services:
    urls: Mapping[str, str]
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    _http: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self.timeout, follow_redirects=False, transport=self.transport
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        token: str | None,
        *,
        who: Who = "staff",
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The service's answer when it is a success (2xx); else the error it stands for."""
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        url = self.urls[service].rstrip("/") + path
        try:
            answer = await self.client().request(
                method, url, json=json, params=params, headers=sent
            )
        except httpx.HTTPError:
            raise PageError.service_down(service) from None
        if answer.is_success:
            return answer
        raise _error(service, answer, who)

    async def get(self, service: str, path: str, token: str | None, **kw: Any) -> Any:
        return (await self.call(service, "GET", path, token, **kw)).json()

    async def send(self, service: str, method: str, path: str, token: str | None, **kw: Any) -> Any:
        answer = await self.call(service, method, path, token, **kw)
        return answer.json() if answer.content else None


def _detail(answer: httpx.Response) -> tuple[str, dict[str, str]]:
    try:
        body = answer.json()
    except ValueError:
        return "", {}
    if not isinstance(body, dict):
        return "", {}
    fields = {
        str(e.get("field", "")): str(e.get("problem", ""))
        for e in body.get("errors", [])
        if isinstance(e, dict)
    }
    return str(body.get("detail", "")), fields


def _error(service: str, answer: httpx.Response, who: Who) -> Exception:
    status = answer.status_code
    detail, fields = _detail(answer)
    if status in (409, 422):
        return Refused(status, detail, fields)
    if status == 401:
        return PageError.signed_out() if who == "staff" else PageError.link_refused(detail)
    if status == 403:
        return PageError.no_access(detail) if who == "staff" else PageError.link_refused(detail)
    if status == 404:
        return PageError.not_found()
    if status in (400, 413):
        return Refused(status, detail, fields)
    return PageError.service_down(service)
