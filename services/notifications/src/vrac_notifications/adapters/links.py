"""Links a person opens without an account: a child's diploma, a helper's answer to a task,
the family's way into the web app.

The service that owns the thing signs its link, with its own key (screening the diploma's,
network the task's, intake the family's): these adapters ask the owner for a new one over HTTP with
notifications' own service token, just before the message goes out. A link never travels on
a topic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
from vrac_contracts.values import DeliveryError

from vrac_notifications.domain.delivery import DeliveryProblem
from vrac_notifications.domain.templates import Answer, FamilyPage

LINKS_PATH = "/internal/diploma-links"
TASK_LINKS_PATH = "/internal/task-links"
FAMILY_LINKS_PATH = "/internal/family-links"


class _LinkIssuer:
    """``POST`` to the owner's link route; its refusals (``refused``) are final, the owner
    away or answering anything else is transient."""

    def __init__(
        self,
        owner: str,
        url: str,
        token: Callable[[str], str],
        *,
        refused: tuple[int, ...],
        timeout: float,
        transport: httpx.AsyncBaseTransport | None,
        refusal: DeliveryError = DeliveryError.NO_CONSENT,
    ) -> None:
        self._owner = owner
        self._refusal = refusal
        self._url = url
        self._token = token
        self._refused = refused
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def _issue(self, body: dict[str, str]) -> dict[str, Any]:
        bearer = {"Authorization": f"Bearer {self._token(self._owner)}"}
        try:
            reply = await self._http.post(self._url, json=body, headers=bearer)
        except httpx.HTTPError:
            raise DeliveryProblem(
                DeliveryError.OTHER, retryable=True, detail=f"{self._owner} away"
            ) from None
        if reply.status_code in self._refused:
            raise DeliveryProblem(
                self._refusal,
                retryable=False,
                detail=f"{self._owner} gives no link ({reply.status_code})",
            )
        if reply.status_code != 201:
            detail = f"{self._owner} answered {reply.status_code} for a link"
            raise DeliveryProblem(DeliveryError.OTHER, retryable=True, detail=detail)
        issued: dict[str, Any] = reply.json()
        return issued

    async def aclose(self) -> None:
        await self._http.aclose()


class DiplomaLinks(_LinkIssuer):
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
        url = screening_url.rstrip("/") + LINKS_PATH
        super().__init__(
            "screening", url, token, refused=(404, 409), timeout=timeout, transport=transport
        )
        self._public = public_url.rstrip("/")

    async def __call__(self, diploma_id: str) -> str:
        issued = await self._issue({"diploma_id": diploma_id})
        return f"{self._public}{issued['path']}?link={issued['token']}"


class TaskLinks(_LinkIssuer):
    """``await links(case_id, task_id, member_id)``: the member's signed, expiring answer
    link to the task (accept, decline, done). A task network no longer lets this member
    answer (cancelled, reassigned, the member gone: 404, 409, 422) is a final refusal;
    network away is a transient one."""

    def __init__(
        self,
        network_url: str,
        token: Callable[[str], str],
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = network_url.rstrip("/") + TASK_LINKS_PATH
        super().__init__(
            "network", url, token, refused=(404, 409, 422), timeout=timeout, transport=transport
        )

    async def __call__(self, case_id: str, task_id: str, member_id: str) -> Answer:
        body = {"case_id": case_id, "task_id": task_id, "member_id": member_id}
        issued = await self._issue(body)
        expires = dt.datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00"))
        return Answer(url=issued["url"], expires_on=expires.date())


class FamilyLinks(_LinkIssuer):
    """``await links(case_id, guardian_id)``: the guardian's family link into the web app
    (``<web_url>/family?link=<token>``), which intake signs. A case intake no longer gives
    links for (closed, erased, the guardian gone: 404, 409) is a final refusal; intake away
    is a transient one."""

    def __init__(
        self,
        intake_url: str,
        web_url: str,
        token: Callable[[str], str],
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = intake_url.rstrip("/") + FAMILY_LINKS_PATH
        super().__init__(
            "intake",
            url,
            token,
            refused=(404, 409),
            timeout=timeout,
            transport=transport,
            refusal=DeliveryError.OTHER,  # no consent is missing: the case or guardian left
        )
        self._web = web_url.rstrip("/")

    async def __call__(self, case_id: str, guardian_id: str) -> FamilyPage:
        issued = await self._issue({"case_id": case_id, "guardian_id": guardian_id})
        expires = dt.datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00"))
        url = f"{self._web}/family?link={issued['token']}"
        return FamilyPage(url=url, expires_on=expires.date())
