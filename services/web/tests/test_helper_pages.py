"""The helper's task page from the link in their e-mail, against a network answered
in-process."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from vrac_web.app import create_app
from vrac_web.i18n import MONTHS, catalogue
from vrac_web.pages import helper, signin
from vrac_web.pages.helper import CATEGORIES, ENDED, REASONS, STATUSES
from vrac_web.settings import WebSettings

URLS = {s: f"http://{s}.test" for s in ("intake", "screening", "notifications", "reporting")}
URLS["network"] = "http://network.test"
TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJqdGkiOiJsMSJ9.c2ln"


class Network:
    """Network's task-link routes for one link: the task, answered once."""

    def __init__(self, **task: Any) -> None:
        self.task: dict[str, Any] = {
            "task_id": "t1",
            "category": "transport",
            "status": "assigned",
            "due_date": "2026-12-04",
            "description": "Bring Sam to football on Wednesday",
            "answers": ["accept", "decline", "done"],
            **task,
        }
        self.refusal: tuple[int, str] | None = None
        self.answers: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.headers.append(request.headers)
        if request.url.path not in (f"/task-links/{TOKEN}", f"/task-links/{TOKEN}/answer"):
            return httpx.Response(403, json={"detail": "this link is not valid"})
        if self.refusal:
            return httpx.Response(self.refusal[0], json={"detail": self.refusal[1]})
        if request.method == "GET":
            return httpx.Response(200, json=self.task)
        body = json.loads(request.content)
        self.answers.append(body)
        status = {"accept": "accepted", "decline": "declined", "done": "completed"}
        self.task = {**self.task, "status": status[body["answer"]], "answers": []}
        self.refusal = (409, "this link was used already; each link answers once")
        return httpx.Response(200, json=self.task)


def browser(network: Network, language: str = "en") -> TestClient:
    app = create_app(
        WebSettings(development=True, service_urls=URLS),  # type: ignore[call-arg]
        (signin.router, helper.router),
        transport=httpx.MockTransport(network),
    )
    return TestClient(app, follow_redirects=False, headers={"Accept-Language": language})


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_helper_sees_the_task_in_words_with_its_answers() -> None:
    network = Network()
    page = browser(network).get(f"/task-links/{TOKEN}")
    assert page.status_code == 200
    assert "Taking the child somewhere" in page.text
    assert "By 4 December 2026" in page.text and 'datetime="2026-12-04"' in page.text
    assert "Bring Sam to football on Wednesday" in page.text
    assert "Waiting for your answer" in page.text
    for answer in ("Accept the task", "Decline the task", "Mark the task as done"):
        assert answer in page.text
    assert "authorization" not in network.headers[0]  # the link is the token, no bearer


def test_accepting_sends_the_answer_and_shows_the_new_state_with_thanks() -> None:
    network = Network()
    web = browser(network)
    page = web.get(f"/task-links/{TOKEN}").text
    answered = web.post(f"/task-links/{TOKEN}", data={"csrf_token": csrf(page), "answer": "accept"})
    assert answered.status_code == 200
    assert network.answers == [{"answer": "accept", "reason": None}]
    assert "Thank you" in answered.text and "Accepted" in answered.text
    again = web.get(f"/task-links/{TOKEN}")
    assert again.status_code == 409 and "This link was used already" in again.text


def test_declining_without_a_reason_says_so_beside_the_field_and_sends_nothing() -> None:
    network = Network()
    web = browser(network)
    page = web.get(f"/task-links/{TOKEN}").text
    refused = web.post(f"/task-links/{TOKEN}", data={"csrf_token": csrf(page), "answer": "decline"})
    assert refused.status_code == 422 and network.answers == []
    assert 'id="reason-error"' in refused.text and "Choose why you decline" in refused.text
    assert 'aria-describedby="reason-hint reason-error"' in refused.text
    declined = web.post(
        f"/task-links/{TOKEN}",
        data={"csrf_token": csrf(refused.text), "answer": "decline", "reason": "no-time"},
    )
    assert declined.status_code == 200 and "Declined" in declined.text
    assert network.answers == [{"answer": "decline", "reason": "no-time"}]


def test_an_answer_without_the_pages_csrf_token_is_refused() -> None:
    network = Network()
    web = browser(network)
    web.get(f"/task-links/{TOKEN}")
    refused = web.post(f"/task-links/{TOKEN}", data={"csrf_token": "forged", "answer": "accept"})
    assert refused.status_code == 403 and network.answers == []


@pytest.mark.parametrize(
    ("refusal", "title"),
    [
        ((403, "this link has expired"), "This link has expired"),
        ((403, "this link is not valid"), "This link does not open a task"),
        ((409, "this link was used already; each link answers once"), "This link was used already"),
        ((409, "this task is no longer yours; the coach gave it"), "This task is no longer yours"),
        ((404, "this task no longer exists"), "This link does not open a task"),
    ],
)
def test_a_link_that_opens_nothing_more_says_why(refusal: tuple[int, str], title: str) -> None:
    network = Network()
    network.refusal = refusal
    page = browser(network).get(f"/task-links/{TOKEN}")
    assert page.status_code in (403, 409) and f"<h1>{title}</h1>" in page.text
    assert "Accept the task" not in page.text


def test_the_page_speaks_the_browsers_language_or_networks_for_the_task() -> None:
    dutch = browser(Network(), "nl-BE,nl;q=0.9").get(f"/task-links/{TOKEN}")
    assert '<html lang="nl">' in dutch.text and "De taak aanvaarden" in dutch.text
    assert "4 december 2026" in dutch.text
    french = browser(Network(language="fr"), "nl").get(f"/task-links/{TOKEN}")
    assert '<html lang="fr">' in french.text and "Accepter la tâche" in french.text
    network = Network(language="fr")
    web = browser(network, "nl")
    page = web.get(f"/task-links/{TOKEN}").text
    web.post(f"/task-links/{TOKEN}", data={"csrf_token": csrf(page), "answer": "accept"})
    used = web.get(f"/task-links/{TOKEN}")  # network's 409 names no language: the one it gave
    assert "Ce lien a déjà été utilisé" in used.text
    network = Network()
    network.refusal = (403, "this link has expired")
    expired = browser(network, "nl").get(f"/task-links/{TOKEN}")
    assert "Deze link is verlopen" in expired.text


def test_a_malformed_link_opens_nothing_and_asks_network_nothing() -> None:
    network = Network()
    page = browser(network).get("/task-links/not%20a%20token")
    assert page.status_code == 403 and "This link does not open a task" in page.text
    assert network.headers == []


def test_network_away_is_a_page_not_a_trace() -> None:
    def away(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app = create_app(
        WebSettings(development=True, service_urls=URLS),  # type: ignore[call-arg]
        (helper.router,),
        transport=httpx.MockTransport(away),
    )
    page = TestClient(app).get(f"/task-links/{TOKEN}")
    assert page.status_code == 503 and "Temporarily unavailable" in page.text


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_text_the_code_puts_on_the_page_is_translated(language: str) -> None:
    texts = [*CATEGORIES.values(), *STATUSES.values(), *REASONS.values(), *MONTHS]
    texts += [text for title, message, _ in ENDED.values() for text in (title, message)]
    texts += [problem for problem in helper.problems_of("x", "").values()]
    texts += [problem for problem in helper.problems_of("decline", "").values()]
    assert not [text for text in texts if language not in catalogue().get(text, {})]
