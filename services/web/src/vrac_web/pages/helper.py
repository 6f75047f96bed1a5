"""The informal helper's page: the task from their task e-mail, answered once with accept,
decline (with a reason) or done.

No account and no bearer: the token in the address is the link network signed for this
task and this helper, and network decides what it opens. The page speaks the language network
gives for the task when it gives one, else the browser's (a language the helper chooses on
the page wins over both).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData
from vrac_contracts.values import DeclineReason

from vrac_web.csrf import checked_form
from vrac_web.deps import render, services_of
from vrac_web.errors import PageError
from vrac_web.i18n import LANGUAGES, language_of, translator
from vrac_web.services import Refused
from vrac_web.session import session_of

router = APIRouter(include_in_schema=False)
CheckedForm = Annotated[FormData, Depends(checked_form)]

# a signed link is a JWT: letters, digits and ._- only; anything else opens nothing
TOKEN: Final = re.compile(r"^[A-Za-z0-9._~-]{1,4096}$")
ANSWERS: Final = ("accept", "decline", "done")

CATEGORIES: Final = {
    "homework-support": "Help with homework",
    "practise-strength": "Practising one of the child's strengths",
    "school-contact": "Keeping in touch with the school",
    "transport": "Taking the child somewhere",
    "leisure-activity": "A leisure activity with the child",
    "respite-care": "Looking after the child for a while",
    "check-in": "Checking in with the family",
    "meeting": "Coming to a meeting",
    "professional-support": "Professional support",
    "referral": "A referral",
    "other": "Other help",
}
STATUSES: Final = {
    "assigned": "Waiting for your answer",
    "accepted": "Accepted",
    "declined": "Declined",
    "completed": "Done",
    "cancelled": "Cancelled",
}
REASONS: Final = {
    DeclineReason.NO_TIME.value: "I have no time for it",
    DeclineReason.NOT_SUITABLE.value: "It does not suit me",
    DeclineReason.NOT_REACHABLE.value: "I cannot get there",
    DeclineReason.OTHER.value: "Another reason",
}
# why a link opens nothing more, each as the page says it: (title, message, status)
ENDED: Final = {
    "expired": (
        "This link has expired",
        "Links to a task last a few weeks. If you still want to help, ask the coach who "
        "sent it for a new one.",
        403,
    ),
    "invalid": (
        "This link does not open a task",
        "It may have been withdrawn, or only part of it was copied. Ask the coach who sent "
        "it for a new one.",
        403,
    ),
    "used": (
        "This link was used already",
        "Each link takes one answer, and this one has been given. The coach can see it.",
        409,
    ),
    "moved": (
        "This task is no longer yours",
        "The coach gave it to someone else, or the family's plan ended. There is nothing "
        "more to do.",
        409,
    ),
}


HELPER_LANGUAGE: Final = "helper_lang"  # network's language for the helper, kept in the session


def speaking(request: Request, task: dict[str, Any] | None) -> dict[str, Any]:
    """The page's language: the helper's own choice, else network's for the task (kept, so
    that the page saying a link was used speaks it too), else the browser's."""
    session = session_of(request)
    given = (task or {}).get("language")
    if given in LANGUAGES:
        session[HELPER_LANGUAGE] = given
    kept = session.get(HELPER_LANGUAGE)
    chosen = session.get("lang") or kept not in LANGUAGES
    language = language_of(request) if chosen else str(kept)
    return {"lang": language, "t": translator(language)}


def ended_kind(error: Exception) -> str:
    """Which of ``ENDED`` network's refusal stands for."""
    if isinstance(error, Refused):
        return "used" if "used" in error.detail else "moved"
    if isinstance(error, PageError) and any("expired" in d for d in error.details):
        return "expired"
    return "invalid"


def ended(request: Request, kind: str) -> Response:
    title, message, status = ENDED[kind]
    context = {"title": title, "message": message, **speaking(request, None)}
    return render(request, "helper/ended.html", context, status)


async def fetch(request: Request, token: str) -> dict[str, Any]:
    task: dict[str, Any] = await services_of(request).get(
        "network", f"/task-links/{token}", None, who="helper"
    )
    return task


def due_of(task: dict[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(task["due_date"])) if task.get("due_date") else None
    except ValueError:
        return None


def task_page(
    request: Request,
    token: str,
    task: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "token": token,
        "task": task,
        "category": CATEGORIES.get(str(task.get("category")), "Other help"),
        "status_text": STATUSES.get(str(task.get("status")), str(task.get("status"))),
        "due": due_of(task),
        "reasons": REASONS,
        "errors": errors or {},
        **speaking(request, task),
    }
    return render(request, "helper/task.html", context, status)


async def again(
    request: Request, token: str, errors: dict[str, str] | None = None, status: int = 422
) -> Response:
    """The task as network gives it now, with ``errors`` beside their fields; or the page
    saying why the link opens nothing more."""
    try:
        task = await fetch(request, token)
    except (Refused, PageError) as error:
        if isinstance(error, PageError) and error.status not in (403, 404):
            raise
        return ended(request, ended_kind(error))
    return task_page(request, token, task, errors, status)


@router.get("/task-links/{token}")
async def helper_task(request: Request, token: str) -> Response:
    if not TOKEN.match(token):
        return ended(request, "invalid")
    return await again(request, token, status=200)


@router.post("/task-links/{token}")
async def answer_task(request: Request, token: str, form: CheckedForm) -> Response:
    if not TOKEN.match(token):
        return ended(request, "invalid")
    answer, reason = str(form.get("answer", "")), str(form.get("reason", ""))
    problems = problems_of(answer, reason)
    try:
        if problems:
            return await again(request, token, problems)
        body = {"answer": answer, "reason": reason or None}
        task = await services_of(request).send(
            "network", "POST", f"/task-links/{token}/answer", None, who="helper", json=body
        )
    except Refused as refused:
        if refused.status == 409:
            return ended(request, ended_kind(refused))
        problem = refused.fields.get("reason") or refused.detail or "Choose one of the answers."
        field = "reason" if "reason" in refused.fields else "answer"
        return await again(request, token, {field: problem})
    except PageError as error:
        if error.status not in (403, 404):
            raise
        return ended(request, ended_kind(error))
    context = {
        "task": task,
        "answer": answer,
        "category": CATEGORIES.get(str(task.get("category")), "Other help"),
        "status_text": STATUSES.get(str(task.get("status")), str(task.get("status"))),
        **speaking(request, task),
    }
    return render(request, "helper/answered.html", context)


def problems_of(answer: str, reason: str) -> dict[str, str]:
    """What the helper must fix before the answer goes to network, by field."""
    if answer not in ANSWERS:
        return {"answer": "Choose one of the answers."}
    if answer == "decline" and reason not in REASONS:
        return {"reason": "Choose why you decline: the coach needs it to find someone else."}
    return {}
