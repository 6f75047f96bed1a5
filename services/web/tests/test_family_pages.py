"""The parent's pages, with the services answering in-process (``httpx.MockTransport``): the
link opens a session, the child's page shows what the services give, consents change."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from vrac_web.app import create_app
from vrac_web.i18n import catalogue
from vrac_web.pages import family, signin
from vrac_web.pages.family_view import TEXTS
from vrac_web.settings import WebSettings

CASE = "case-0001"
GUARDIAN = "guardian-0001"
URLS = {
    s: f"http://{s}.test" for s in ("intake", "screening", "network", "notifications", "reporting")
}


def link(case_id: str = CASE, *, expires_in: int = 3600, audience: str = "vrac-family") -> str:
    """A family link as the web app reads it: the services verify its signature, so here any
    signature will do."""
    now = int(time.time())
    claims = {
        "iss": "vrac-intake",
        "aud": audience,
        "sub": GUARDIAN,
        "case_id": case_id,
        "pilot": "leiden",
        "jti": "link-1",
        "iat": now,
        "exp": now + expires_in,
    }
    return jwt.encode(claims, "a test secret of thirty-two bytes!", algorithm="HS256")


def decision(purpose: str, granted: bool, at: str, **who: Any) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "agency_id": who.get("agency_id"),
        "granted": granted,
        "changed_by": who.get("role", "coach"),
        "guardian_id": who.get("guardian_id"),
        "recorded_by_user": "coach-1",
        "changed_at": at,
        "recorded_at": at,
    }


@dataclass
class FakeServices:
    """Intake, screening and network as far as the family's pages use them."""

    token: str = field(default_factory=link)
    refuse_link: tuple[int, str] | None = None  # what intake answers a refused link
    history: list[dict[str, Any]] = field(default_factory=list)
    screenings: list[dict[str, Any]] = field(default_factory=list)
    diplomas: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    network_down: bool = False
    consent_refusal: str | None = None
    calls: list[str] = field(default_factory=list)
    advice_languages: list[str | None] = field(default_factory=list)
    recorded: list[dict[str, Any]] = field(default_factory=list)

    def current(self) -> list[dict[str, Any]]:
        latest: dict[tuple[str, Any], dict[str, Any]] = {}
        for d in self.history:
            latest[(d["purpose"], d["agency_id"])] = d
        return list(latest.values())

    def __call__(self, request: httpx.Request) -> httpx.Response:
        service, path = request.url.host.split(".")[0], request.url.path
        self.calls.append(f"{request.method} {service} {path}")
        if path.endswith("/screenings"):
            self.advice_languages.append(request.url.params.get("language"))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"detail": "this link is not valid"})
        if service == "intake" and self.refuse_link:
            status, detail = self.refuse_link
            return httpx.Response(status, json={"detail": detail})
        if service == "network" and self.network_down:
            return httpx.Response(503, json={"detail": "away"})
        return self.answer(service, request.method, path, request)

    def answer(
        self, service: str, method: str, path: str, request: httpx.Request
    ) -> httpx.Response:
        case = f"/cases/{CASE}"
        pdf = re.fullmatch(r"/diplomas/([^/]+)\.pdf", path)
        credential = re.fullmatch(r"/diplomas/([^/]+)/credential", path)
        routes: dict[tuple[str, str, str], Any] = {
            ("intake", "GET", case): lambda: self.case(),
            ("intake", "GET", f"{case}/consents"): lambda: {
                "current": self.current(),
                "history": self.history,
            },
            ("screening", "GET", f"{case}/screenings"): lambda: self.screenings,
            ("screening", "GET", f"{case}/diplomas"): lambda: self.diplomas,
            ("network", "GET", f"{case}/tasks"): lambda: self.tasks,
            ("network", "GET", f"{case}/members"): lambda: self.members,
        }
        if (service, method, path) in routes:
            return httpx.Response(200, json=routes[(service, method, path)]())
        if (service, method, path) == ("intake", "POST", f"{case}/consents"):
            return self.record(json.loads(request.content))
        if service == "screening" and pdf and pdf.group(1) == "dip-withheld":
            return httpx.Response(403, json={"detail": "the diploma is not shared"})
        if service == "screening" and pdf:
            return httpx.Response(
                200, content=b"%PDF-1.7 diploma", headers={"content-type": "application/pdf"}
            )
        if service == "screening" and credential:
            if not any(d["purpose"] == "diploma" and d["granted"] for d in self.current()):
                return httpx.Response(409, json={"detail": "diploma consent was withdrawn"})
            return httpx.Response(
                200, content=b"eyJ.credential.sig", headers={"content-type": "application/vc+jwt"}
            )
        return httpx.Response(404, json={"detail": "not found"})

    def case(self) -> dict[str, Any]:
        return {
            "case_id": CASE,
            "pilot": "leiden",
            "programme": "pit",
            "status": "open",
            "child_first_name": "Noor",
            "language": "nl",
            "guardians": [{"guardian_id": GUARDIAN, "language": "nl"}],
            "consents": self.current(),
        }

    def record(self, body: dict[str, Any]) -> httpx.Response:
        self.recorded.append(body)
        if self.consent_refusal:
            return httpx.Response(422, json={"detail": self.consent_refusal})
        self.history.append(
            decision(
                body["purpose"],
                body["granted"],
                "2026-11-30T12:00:00+00:00",
                role="guardian",
                guardian_id=body["recorded_by"]["guardian_id"],
                agency_id=body["agency_id"],
            )
        )
        return httpx.Response(201, json={"changed": True, "consent": None})


def consented() -> FakeServices:
    """A screened case: advice, a diploma, two tasks of two members, consents granted."""
    return FakeServices(
        history=[
            decision("screening", True, "2026-11-01T09:00:00+00:00"),
            decision("diploma", True, "2026-11-01T09:01:00+00:00"),
            decision("share-with-school", True, "2026-11-01T09:02:00+00:00"),
        ],
        screenings=[
            {
                "screening_id": "s-1",
                "screened_on": "2026-11-10",
                "recorded_at": "2026-11-10T10:00:00Z",
                "language": "nl",
                "advice_language": "nl",
                "advice": [
                    {
                        "audience": "parents",
                        "text": "Lees elke avond samen.",
                        "code": "a",
                        "rule": "r",
                    },
                    {
                        "audience": "child",
                        "text": "Jij bent een echte doorzetter.",
                        "code": "b",
                        "rule": "r",
                    },
                    {
                        "audience": "school",
                        "text": "Voor de school alleen.",
                        "code": "c",
                        "rule": "r",
                    },
                ],
            }
        ],
        diplomas=[
            {
                "diploma_id": "dip-1",
                "language": "nl",
                "title": "Diploma van Noor",
                "issued_on": "2026-11-10",
                "issued_at": "2026-11-10T10:00:00Z",
                "strengths": [
                    {"domain": "perseverance", "label": "Doorzetten", "reason": "Geeft nooit op."}
                ],
            }
        ],
        members=[
            {
                "member_id": "m-1",
                "display_name": "Oma Els",
                "role": "supporter",
                "kind": "family",
                "relationship": "grandmother",
                "removed_at": None,
            },
            {
                "member_id": "m-2",
                "display_name": None,
                "role": "buddy",
                "kind": "informal",
                "relationship": None,
                "removed_at": "2026-11-20T10:00:00Z",
            },
        ],
        tasks=[
            {
                "task_id": "t-1",
                "assignee_id": "m-1",
                "category": "homework-support",
                "status": "accepted",
                "due_date": "2026-12-05",
                "description": None,
                "overdue": False,
            },
            {
                "task_id": "t-2",
                "assignee_id": "m-2",
                "category": "transport",
                "status": "cancelled",
                "due_date": None,
                "description": None,
                "overdue": False,
            },
        ],
    )


def web(fake: FakeServices) -> TestClient:
    settings = WebSettings(development=True, service_urls=URLS)  # type: ignore[call-arg]
    app = create_app(settings, (signin.router, family.router), transport=httpx.MockTransport(fake))
    return TestClient(app, follow_redirects=False)


def opened(fake: FakeServices) -> TestClient:
    client = web(fake)
    answer = client.get("/family", params={"link": fake.token})
    assert answer.status_code == 303 and answer.headers["location"] == "/family"
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_link_opens_a_session_and_leaves_the_address_bar() -> None:
    fake = consented()
    client = web(fake)
    answer = client.get("/family", params={"link": fake.token})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/family"  # the token is no longer in the address
    assert fake.token not in answer.headers["location"]
    assert "GET intake /cases/case-0001" in fake.calls  # intake opened the link first


def test_the_childs_page_shows_advice_diploma_and_who_does_what_in_the_familys_language() -> None:
    fake = consented()
    page = opened(fake).get("/family")
    assert page.status_code == 200
    assert '<html lang="nl">' in page.text and "De pagina van Noor" in page.text
    assert "Lees elke avond samen." in page.text and "Jij bent een echte doorzetter." in page.text
    assert "Voor de school alleen." not in page.text  # the school's advice is the school's
    assert 'href="/family/diplomas/dip-1.pdf"' in page.text
    assert 'href="/family/diplomas/dip-1/credential"' in page.text
    assert "Oma Els" in page.text and "Hulp bij huiswerk" in page.text
    assert "5 december 2026" in page.text  # a due date written out in the family's language
    # the screening's and the diploma's day too
    assert "Uit de screening van 10 november 2026." in page.text
    assert "Uitgereikt op 10 november 2026" in page.text
    assert "Aangenomen" in page.text
    assert "Iemand die het netwerk verliet" in page.text  # a member who left is not named
    assert fake.token not in page.text  # the link never reaches the page


def test_every_call_carries_the_familys_link_and_the_advice_comes_in_the_pages_language() -> None:
    fake = consented()
    client = opened(fake)
    choose = client.post(
        "/language",
        data={"csrf_token": csrf(client.get("/family").text), "lang": "fr", "next": "/family"},
    )
    assert choose.headers["location"] == "/family"
    page = client.get("/family")
    assert '<html lang="fr">' in page.text and "La page de Noor" in page.text
    services = {c.split()[1] for c in fake.calls}
    assert services == {"intake", "screening", "network"}  # each answered the one token
    assert fake.advice_languages == ["nl", "fr"]  # the advice in the page's language


def test_what_the_family_may_not_see_yet_is_said_in_words() -> None:
    fake = FakeServices(network_down=True)
    page = opened(fake).get("/family")
    assert page.status_code == 200
    assert "Uw kind is nog niet gescreend" in page.text
    assert "Er is nog geen diploma" in page.text
    assert "Wie wat doet kan nu niet getoond worden" in page.text


@pytest.mark.parametrize(
    "token",
    ["not-a-token", link(expires_in=-10), link(audience="vrac-intake"), ""],
    ids=["garbage", "expired", "a-staff-token", "empty"],
)
def test_a_link_that_is_not_a_valid_family_link_shows_the_link_page(token: str) -> None:
    fake = consented()
    answer = web(fake).get("/family", params={"link": token})
    assert answer.status_code == 403
    assert "This link no longer opens the page" in answer.text
    assert fake.calls == []  # nothing to ask the services about


def test_a_link_intake_refuses_shows_why() -> None:
    fake = consented()
    fake.refuse_link = (403, "this link was revoked; ask the coach for a new one")
    answer = web(fake).get("/family", params={"link": fake.token})
    assert answer.status_code == 403
    assert "this link was revoked" in answer.text and "Traceback" not in answer.text


def test_a_link_revoked_after_it_was_opened_stops_the_next_page() -> None:
    fake = consented()
    client = opened(fake)
    fake.refuse_link = (403, "this link was revoked; ask the coach for a new one")
    for path in ("/family", "/family/consents", "/family/diplomas/dip-1.pdf"):
        answer = client.get(path)
        assert answer.status_code == 403 and "this link was revoked" in answer.text


def test_without_a_session_the_family_pages_send_the_parent_to_the_link() -> None:
    for path in ("/family", "/family/consents", "/family/diplomas/dip-1.pdf"):
        answer = web(consented()).get(path)
        assert answer.status_code == 401 and "Open the link in your e-mail" in answer.text


def test_withdrawing_a_consent_is_recorded_as_the_links_guardian_and_shows() -> None:
    fake = consented()
    client = opened(fake)
    page = client.get("/family/consents")
    assert page.status_code == 200 and "Het diploma van uw kind" in page.text
    sent = client.post(
        "/family/consents",
        data={"csrf_token": csrf(page.text), "purpose": "diploma", "granted": "false"},
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/family/consents"
    assert fake.recorded == [
        {
            "purpose": "diploma",
            "granted": False,
            "agency_id": None,
            "recorded_by": {"guardian_id": GUARDIAN},
        }
    ]
    after = client.get("/family/consents", headers={"Accept-Language": "en"})
    assert "U trok uw toestemming in: Het diploma van uw kind." in after.text
    assert "Het digitale bewijs wordt ingetrokken" in after.text  # what it stops, said
    history = after.text.split('id="history-title"')[1]
    assert "Ingetrokken" in history and ">U<" in history  # the parent's own decision
    assert ">De coach<" in history  # the decisions the coach entered, as theirs
    # in Leiden's time: 12:00 and 09:01 UTC were 13:00 and 10:01 there
    assert "30 november 2026, 13:00" in history and "1 november 2026, 10:01" in history
    assert "UTC" not in history
    assert "U trok" not in client.get("/family/consents").text  # the confirmation shows once
    home = client.get("/family")
    assert 'href="/family/diplomas/dip-1/credential"' not in home.text  # no longer offered
    assert "Het digitale bewijs wordt niet aangeboden" in home.text


def test_a_consent_intake_refuses_is_shown_beside_the_consents() -> None:
    fake = consented()
    fake.consent_refusal = "the case is closed"
    client = opened(fake)
    page = client.get("/family/consents")
    answer = client.post(
        "/family/consents",
        data={"csrf_token": csrf(page.text), "purpose": "reporting", "granted": "true"},
    )
    assert answer.status_code == 422
    assert "Uw besluit is niet vastgelegd." in answer.text and "the case is closed" in answer.text


def test_a_consent_form_without_the_sessions_token_is_refused() -> None:
    fake = consented()
    client = opened(fake)
    answer = client.post(
        "/family/consents", data={"csrf_token": "forged", "purpose": "diploma", "granted": "false"}
    )
    assert answer.status_code == 403 and fake.recorded == []


@pytest.mark.parametrize(
    "form",
    [
        {"purpose": "everything", "granted": "false"},
        {"purpose": "diploma", "granted": "maybe"},
        {"purpose": "share-with-agency", "granted": "true"},  # names no organisation
    ],
)
def test_a_consent_form_with_a_bad_value_is_a_clear_page(form: dict[str, str]) -> None:
    fake = consented()
    client = opened(fake)
    page = client.get("/family/consents")
    answer = client.post("/family/consents", data={"csrf_token": csrf(page.text), **form})
    assert answer.status_code == 422 and fake.recorded == []


def test_an_organisation_is_offered_only_once_the_coach_asked_about_it() -> None:
    fake = consented()
    client = opened(fake)
    page = client.get("/family/consents", headers={})
    assert 'name="agency_id"' not in page.text
    fake.history.append(
        decision("share-with-agency", True, "2026-11-02T09:00:00+00:00", agency_id="youth-team")
    )
    page = client.get("/family/consents")
    assert 'name="agency_id" value="youth-team"' in page.text


def test_the_diploma_pdf_is_served_through_the_web_app() -> None:
    fake = consented()
    client = opened(fake)
    pdf = client.get("/family/diplomas/dip-1.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get("/family/diplomas/..%2Fcases.pdf").status_code == 404
    withheld = client.get("/family/diplomas/dip-withheld.pdf")
    assert withheld.status_code == 403
    assert "Het diploma wordt op dit moment niet met u gedeeld." in withheld.text


def test_the_credential_downloads_and_says_why_once_withdrawn() -> None:
    fake = consented()
    client = opened(fake)
    credential = client.get("/family/diplomas/dip-1/credential")
    assert credential.status_code == 200 and credential.content == b"eyJ.credential.sig"
    fake.history.append(decision("diploma", False, "2026-11-20T09:00:00+00:00"))
    gone = client.get("/family/diplomas/dip-1/credential")
    assert gone.status_code == 409 and "Geen digitaal bewijs" in gone.text


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_word_of_the_family_pages_made_in_code_is_translated(language: str) -> None:
    missing = sorted(text for text in TEXTS if language not in catalogue().get(text, {}))
    assert not missing, f"not translated into {language}: {missing}"
