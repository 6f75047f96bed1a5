"""Links to a child's diploma that the family can open without an account.

Screening serves the diploma, so screening signs the link, with its own key: this adapter
asks it for a new one over HTTP with notifications' own service token, just before the
message goes out. A link never travels on a topic.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from vrac_contracts.values import DeliveryError

from vrac_notifications.domain.delivery import DeliveryProblem

LINKS_PATH = "/internal/diploma-links"


class DiplomaLinks:
    """``await links(diploma_id)``: a URL on screening's public address that opens the
    diploma. A diploma screening no longer shares (case closed, consent withdrawn, erased)
    is a final refusal; screening away is a transient one."""

    def __init__(
        self,
        screening_url: str,
        public_url: str,
        token: Callable[[str], str],
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = screening_url.rstrip("/") + LINKS_PATH
        self._public = public_url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def __call__(self, diploma_id: str) -> str:
        bearer = {"Authorization": f"Bearer {self._token('screening')}"}
        try:
            reply = await self._http.post(
                self._url, json={"diploma_id": diploma_id}, headers=bearer
            )
        except httpx.HTTPError:
            raise DeliveryProblem(
                DeliveryError.OTHER, retryable=True, detail="screening away"
            ) from None
        if reply.status_code in (404, 409):
            raise DeliveryProblem(
                DeliveryError.NO_CONSENT, retryable=False, detail="diploma no longer shared"
            )
        if reply.status_code != 201:
            detail = f"screening answered {reply.status_code} for a link"
            raise DeliveryProblem(DeliveryError.OTHER, retryable=True, detail=detail)
        issued = reply.json()
        return f"{self._public}{issued['path']}?link={issued['token']}"

    async def aclose(self) -> None:
        await self._http.aclose()
