"""The family's link on the real platform: each service a process on the real Kafka and
store, the e-mails caught by a real SMTP server.

A guardian's e-mail carries the link into the web app; with it, as the web app does, the
family reads its case, consents, screenings, diplomas, tasks and members, and withdraws a
consent itself. The link opens no other case, and a revoked or expired one says why.
"""

from __future__ import annotations

import re
from typing import Any

import jwt
import pytest
from vrac_runtime.auth import SigningKeys
from vrac_runtime.family import family_claims

from demo.scenario import GUARDIAN_EMAIL, MEMBERS, Intake, PitCase, wait_for

pytestmark = pytest.mark.integration

WEB = "https://app.vrac.example.org"
_FAMILY_LINK = re.compile(re.escape(WEB) + r"/family\?link=([A-Za-z0-9._~-]+)")
PLATFORM_ENV = {"VRAC_WEB_URL": WEB}  # the web app's address, for the family link


def claims_of(token: str) -> dict[str, Any]:
    """What a link says, read as the test's own check (the services verify it)."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def as_family(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def family_link_of(pit: PitCase, case: Intake, subject_word: str) -> str:
    """The family link for ``case`` in the guardian's e-mail whose subject holds
    ``subject_word`` (the guardians of this module's cases share an address)."""

    def found() -> str | None:
        for mail in pit.smtp.to(GUARDIAN_EMAIL):
            if subject_word not in mail.subject.lower():
                continue
            for token in _FAMILY_LINK.findall(mail.text):
                if claims_of(token)["case_id"] == case.case_id:
                    return str(token)
        return None

    token: str = await wait_for(f"the family link in the {subject_word} e-mail", found)
    return token


async def case_with_diploma_and_tasks(pit: PitCase) -> tuple[Intake, str]:
    case = await pit.intake()
    await pit.consent(case)
    await pit.screening(case)
    diploma = await pit.diploma(case)
    network = await pit.network(case)
    await pit.tasks(case, network)
    return case, diploma.diploma_id


async def test_the_family_reads_and_decides_with_the_link_from_its_email(pit: PitCase) -> None:
    case, diploma_id = await case_with_diploma_and_tasks(pit)
    token = await family_link_of(pit, case, "diploma")
    advice_link = await family_link_of(pit, case, "advies")  # the advice carries one too
    assert claims_of(advice_link)["sub"] == case.guardian_id
    family, case_path = as_family(token), f"/cases/{case.case_id}"

    seen = await pit.ok("GET", "intake", case_path, family)
    assert seen["child_first_name"] == "Sam"
    assert [g["guardian_id"] for g in seen["guardians"]] == [case.guardian_id]
    screenings = await pit.ok("GET", "screening", f"{case_path}/screenings", family)
    audiences = {a["audience"] for s in screenings for a in s["advice"]}
    assert {"parents", "child"} <= audiences
    [diploma] = await pit.ok("GET", "screening", f"{case_path}/diplomas", family)
    assert diploma["diploma_id"] == diploma_id
    pdf = await pit.ok("GET", "screening", f"/diplomas/{diploma_id}.pdf", family)
    assert pdf.content.startswith(b"%PDF")
    credential = await pit.ok("GET", "screening", f"/diplomas/{diploma_id}/credential", family)
    assert credential.text.count(".") == 2  # a signed JWT
    tasks = await pit.ok("GET", "network", f"{case_path}/tasks", family)
    assert {t["category"] for t in tasks} == {"homework-support", "professional-support"}
    members = await pit.ok("GET", "network", f"{case_path}/members", family)
    assert len(members) == len(MEMBERS)

    withdraw = {
        "purpose": "reporting",
        "granted": False,
        "recorded_by": {"guardian_id": case.guardian_id},
    }
    changed = await pit.ok("POST", "intake", f"{case_path}/consents", family, json=withdraw)
    assert changed["changed"] is True
    consents = await pit.ok("GET", "intake", f"{case_path}/consents", family)
    [reporting] = [c for c in consents["current"] if c["purpose"] == "reporting"]
    assert reporting["granted"] is False
    assert (reporting["changed_by"], reporting["guardian_id"]) == ("guardian", case.guardian_id)
    # the coach sees the family's own decision
    staff = await pit.ok("GET", "intake", f"{case_path}/consents", pit.coach)
    assert staff["current"] == consents["current"]

    # every read and change of the family's is in the audit trail as the family's, the way
    # the diploma link's are
    expected = {
        ("intake", "/cases/{case_id}"),
        ("intake", "/cases/{case_id}/consents"),
        ("screening", "/cases/{case_id}/screenings"),
        ("screening", "/cases/{case_id}/diplomas"),
        ("screening", "/diplomas/{diploma_id}.pdf"),
        ("screening", "/diplomas/{diploma_id}/credential"),
        ("network", "/cases/{case_id}/tasks"),
        ("network", "/cases/{case_id}/members"),
    }

    async def family_entries() -> set[tuple[str, str]] | None:
        answer = await pit.ok("GET", "intake", f"{case_path}/audit?limit=500", pit.lead)
        found = {
            (e["service"], e["resource"])
            for e in answer["entries"]
            if e["actor_role"] == "family" and e["actor_subject"] == "link"
        }
        return found if found >= expected else None

    await wait_for("the family's reads and change in the audit trail", family_entries)


async def test_the_link_opens_no_other_case_and_a_revoked_or_expired_one_says_why(
    pit: PitCase,
) -> None:
    case, _ = await case_with_diploma_and_tasks(pit)
    token = await family_link_of(pit, case, "diploma")
    other = await pit.intake()  # another family's case
    await pit.consent(other)
    family = as_family(token)
    for service, path in (
        ("intake", f"/cases/{other.case_id}"),
        ("intake", f"/cases/{other.case_id}/consents"),
        ("screening", f"/cases/{other.case_id}/diplomas"),
        ("network", f"/cases/{other.case_id}/members"),
    ):
        refused = await pit.call("GET", service, path, family)
        assert (refused.status_code, refused.json()["detail"]) == (
            403,
            "this link opens another family's case",
        ), (service, path)
    # a family link is no staff token
    listed = await pit.call("GET", "intake", "/cases", family)
    assert listed.status_code == 401

    expired = expired_link_of(case)
    for service, path in (
        ("intake", f"/cases/{case.case_id}"),
        ("screening", f"/cases/{case.case_id}/screenings"),
        ("network", f"/cases/{case.case_id}/tasks"),
    ):
        refused = await pit.call("GET", service, path, as_family(expired))
        assert (refused.status_code, refused.json()["detail"]) == (401, "this link has expired")

    link_id = claims_of(token)["jti"]
    links = await pit.ok("GET", "intake", f"/cases/{case.case_id}/family-links", pit.coach)
    assert link_id in {link["link_id"] for link in links}
    assert all(link["guardian_id"] == case.guardian_id for link in links)
    revoked = await pit.call("DELETE", "intake", f"/family-links/{link_id}", pit.coach)
    assert revoked.status_code == 204
    refused = await pit.call("GET", "intake", f"/cases/{case.case_id}", family)
    assert (refused.status_code, refused.json()["detail"]) == (
        403,
        "this link was revoked; ask the coach for a new one",
    )
    links = await pit.ok("GET", "intake", f"/cases/{case.case_id}/family-links", pit.coach)
    assert {link["state"] for link in links if link["link_id"] == link_id} == {"revoked"}


def expired_link_of(case: Intake) -> str:
    """A link intake signed (its development key, as this platform runs) that expired a day
    ago: the family opened an old e-mail."""
    claims: dict[str, Any] = family_claims(
        case_id=case.case_id, pilot="leiden", guardian_id=case.guardian_id, ttl=-86_400
    )
    return SigningKeys.development("intake").sign(claims)
