"""The shell every page stands in: signing in (development), CSRF, language, error pages."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from vrac_contracts import values as vocab
from vrac_web.bootstrap import build
from vrac_web.i18n import catalogue, from_accept_language, translator, written
from vrac_web.settings import WebSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "src" / "vrac_web" / "templates"


def client(**settings: object) -> TestClient:
    values: dict[str, object] = {"development": True, **settings}
    return TestClient(build(WebSettings(**values)), follow_redirects=False)  # type: ignore[arg-type]


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def test_a_coach_signs_in_on_the_development_page_and_lands_on_the_cases() -> None:
    web = client()
    page = web.get("/sign-in")
    assert page.status_code == 200 and "Development sign-in" in page.text
    signed = web.post(
        "/sign-in/dev", data={"csrf_token": csrf(page.text), "role": "coach", "pilot": "leiden"}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/cases"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert web.get("/").headers["location"] == "/cases"


def test_a_form_without_the_session_csrf_token_is_refused_with_a_page() -> None:
    web = client()
    web.get("/sign-in")
    refused = web.post("/sign-in/dev", data={"csrf_token": "forged", "role": "coach", "pilot": "x"})
    assert refused.status_code == 403
    assert "This form has expired" in refused.text
    assert "Traceback" not in refused.text


def test_the_development_sign_in_is_absent_outside_development() -> None:
    web = client(development=False, oidc_issuer="http://127.0.0.1:9/realms/vrac")
    page = web.get("/sign-in")
    assert "Development sign-in" not in page.text
    refused = web.post("/sign-in/dev", data={"csrf_token": csrf(page.text), "role": "coach"})
    assert refused.status_code == 404


def test_an_identity_provider_that_is_away_gives_a_page_not_a_trace() -> None:
    web = client(oidc_issuer="http://127.0.0.1:9/realms/vrac")
    answer = web.get("/sign-in/start")
    assert answer.status_code == 503 and "Temporarily unavailable" in answer.text


def test_the_chosen_language_stays_for_the_session() -> None:
    web = client()
    page = web.get("/sign-in")
    assert '<html lang="en">' in page.text
    chosen = web.post(
        "/language", data={"csrf_token": csrf(page.text), "lang": "fr", "next": "/sign-in"}
    )
    assert chosen.headers["location"] == "/sign-in"
    again = web.get("/sign-in")
    assert '<html lang="fr">' in again.text and "Se connecter" in again.text


def test_the_browser_language_is_used_until_one_is_chosen() -> None:
    assert from_accept_language("de-DE,nl;q=0.8,en;q=0.5") == "nl"
    assert from_accept_language("en;q=0.2, fr-BE") == "fr"
    assert from_accept_language("de") is None
    page = client().get("/sign-in", headers={"Accept-Language": "nl-BE,nl;q=0.9"})
    assert '<html lang="nl">' in page.text and "Aanmelden" in page.text


def test_a_language_switch_never_leads_to_another_site() -> None:
    web = client()
    page = web.get("/sign-in")
    for target in ("https://elsewhere.example/", "//elsewhere.example/", "javascript:alert(1)"):
        answer = web.post(
            "/language", data={"csrf_token": csrf(page.text), "lang": "nl", "next": target}
        )
        assert answer.headers["location"] == "/"


def test_an_unknown_page_is_a_page_and_every_answer_carries_safe_headers() -> None:
    answer = client().get("/no/such/page")
    assert answer.status_code == 404 and "Not found" in answer.text
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_a_tampered_session_cookie_opens_nothing() -> None:
    web = client()
    web.cookies.set("vrac_session", "eyJraW5kIjoic3RhZmYifQ.forged.sig")
    assert web.get("/").headers["location"] == "/sign-in"


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_text_of_the_templates_is_translated(language: str) -> None:
    used: set[str] = set()
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        used |= set(re.findall(r"""\bt\(\s*"([^"]+)"\s*[,)]""", text))
        used |= set(re.findall(r"""\bt\(\s*'([^']+)'\s*[,)]""", text))
        # labels, hints and blank options handed to the form macros, which translate them
        used |= set(re.findall(r'f\.(?:input|select)\(t, "[^"]+", "([^"]+)"', text))
        used |= set(re.findall(r'\b(?:hint|blank)="([^"]+)"', text))
    missing = sorted(u for u in used if language not in catalogue().get(u, {}))
    assert not missing, f"not translated into {language}: {missing}"


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_coded_value_a_page_shows_is_translated(language: str) -> None:
    shown = (
        vocab.ConsentPurpose, vocab.Domain, vocab.ScoreKind, vocab.TaskCategory,
        vocab.MemberKind, vocab.NetworkRole, vocab.Channel, vocab.DeclineReason,
        vocab.Instrument, vocab.Respondent, vocab.Occasion, vocab.WellbeingBand,
    )  # fmt: skip
    missing = sorted(
        v.value for kind in shown for v in kind if language not in catalogue().get(v.value, {})
    )
    assert not missing, f"not translated into {language}: {missing}"


def test_no_two_catalogues_translate_one_text_differently() -> None:
    folder = TEMPLATES.parent / "translations"
    seen: dict[str, tuple[str, dict[str, str]]] = {}
    clashes = []
    for path in sorted(folder.glob("*.json")):
        for english, texts in json.loads(path.read_text(encoding="utf-8")).items():
            earlier = seen.setdefault(english, (path.name, texts))
            if earlier[1] != texts:
                clashes.append(f"{english!r}: {earlier[0]} and {path.name}")
    assert not clashes, "translated twice, differently: " + "; ".join(clashes)


def test_a_pilot_reads_by_its_name_in_every_language() -> None:
    assert translator("en")("east-sussex") == "East Sussex"
    assert translator("fr")("leiden") == "Leyde"


@pytest.mark.parametrize(
    ("language", "day", "moment"),
    [
        ("nl", "5 december 2026", "30 november 2026, 12:00 UTC"),
        ("fr", "5 décembre 2026", "30 novembre 2026, 12:00 UTC"),
        ("en", "5 December 2026", "30 November 2026, 12:00 UTC"),
    ],
)
def test_days_and_moments_are_written_out_in_the_pages_language(
    language: str, day: str, moment: str
) -> None:
    t = translator(language)
    assert written(t, "2026-12-05") == day
    assert written(t, dt.date(2026, 12, 5)) == day
    assert written(t, "2026-11-30T13:00:00+01:00") == moment  # told in UTC, as it says


def test_a_moment_is_told_in_the_pilots_time_and_on_its_day() -> None:
    paris, london = ZoneInfo("Europe/Paris"), ZoneInfo("Europe/London")
    late = "2026-11-30T23:30:00Z"
    assert written(translator("fr"), late, paris) == "1 décembre 2026, 00:30"
    assert written(translator("en"), late, london) == "30 November 2026, 23:30"
    assert written(translator("nl"), "2026-07-01T12:00:00+00:00", paris) == "1 juli 2026, 14:00"


def test_a_value_that_is_no_date_shows_as_it_came() -> None:
    t = translator("nl")
    assert written(t, "next week") == "next week"
    assert written(t, None) == ""
