"""What the family's pages show, made from the services' answers (pure: no HTTP, no session).

Texts here are English message ids; the templates translate them with ``t``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jwt

AGENCY: Final = "share-with-agency"


@dataclass(frozen=True)
class Purpose:
    """A consent purpose in plain words: what it lets the team do, what withdrawing stops."""

    label: str
    lets: str
    stops: str


PURPOSES: Final[Mapping[str, Purpose]] = {
    "screening": Purpose(
        "Screening of your child's talents",
        "The team may record the screening of your child's talents and skills, and give "
        "advice on what helps your child.",
        "No new screening is recorded. What was already recorded stays.",
    ),
    "diploma": Purpose(
        "Your child's diploma",
        "The platform makes a diploma of your child's strengths, with a digital credential "
        "of it, and sends you the link.",
        "The digital credential is revoked and is no longer offered, and the diploma link "
        "in your e-mail stops opening.",
    ),
    "share-with-school": Purpose(
        "Sharing with the school",
        "The team may send your child's school the advice on how to support your child in class.",
        "The school receives no more messages about your child.",
    ),
    AGENCY: Purpose(
        "Sharing with an organisation",
        "The team may give tasks for your child to this organisation (for example youth "
        "care) and send it what it needs for them.",
        "The organisation receives no new tasks and no more messages about your child.",
    ),
    "questionnaires": Purpose(
        "Wellbeing questionnaires",
        "The team may record the questionnaires about how your child is doing, to see "
        "whether the support helps.",
        "No new questionnaire is recorded.",
    ),
    "reporting": Purpose(
        "Counting in the pilot's reports",
        "Your child's case may be counted in the pilot's reports. Reports only hold "
        "numbers, never names.",
        "Your child's case is no longer counted in the reports.",
    ),
}

STATE_TEXT: Final = {
    "granted": "Given",
    "withdrawn": "Withdrawn",
    "not-asked": "Not asked yet",
}

DECIDED_BY: Final = {
    "guardian": "A parent or carer",
    "child": "Your child",
    "coach": "The coach",
    "coordinator": "The coordinator",
    "system": "The platform",
}

TASK_CATEGORY: Final = {
    "homework-support": "Help with homework",
    "practise-strength": "Practise a strength",
    "school-contact": "Contact with the school",
    "transport": "Transport",
    "leisure-activity": "A leisure activity",
    "respite-care": "Respite care",
    "check-in": "Checking in",
    "meeting": "A meeting",
    "professional-support": "Professional support",
    "referral": "A referral",
    "other": "Other help",
}

TASK_STATUS: Final = {
    "assigned": "Asked, no answer yet",
    "accepted": "Accepted",
    "declined": "Declined",
    "completed": "Done",
    "cancelled": "Cancelled",
}

NETWORK_ROLE: Final = {
    "spider-in-the-web": "Spider in the web",
    "bridge-builder": "Bridge builder",
    "base-worker": "Base worker",
    "coach": "Coach",
    "mentor": "Mentor",
    "supporter": "Supporter",
    "buddy": "Buddy",
    "teacher": "Teacher",
    "youth-worker": "Youth worker",
    "social-worker": "Social worker",
    "care-provider": "Care provider",
    "volunteer": "Volunteer",
}

MEMBER_KIND: Final = {
    "family": "Family member",
    "informal": "Friend or neighbour",
    "professional": "Professional",
    "agency": "Organisation",
}

# the page of a browser without the family's session
NO_SESSION: Final = (
    "Open the link in your e-mail",
    "These pages open with the link in the e-mail the team sent you. Open it again; if it "
    "no longer works, ask the coach of your family for a new one.",
)

# every English text of this module, for the test that each has its nl and fr
TEXTS: Final = (
    *NO_SESSION,
    *(text for p in PURPOSES.values() for text in (p.label, p.lets, p.stops)),
    *STATE_TEXT.values(),
    *DECIDED_BY.values(),
    "You",
    *TASK_CATEGORY.values(),
    *TASK_STATUS.values(),
    *NETWORK_ROLE.values(),
    *MEMBER_KIND.values(),
)


@dataclass(frozen=True)
class LinkClaims:
    """What the web app reads from a family link before any service verified it: only which
    case to ask for and which guardian it was sent to. The services verify the signature."""

    case_id: str
    guardian_id: str


def link_claims(token: str) -> LinkClaims | None:
    """The claims a family link says it has, or None for anything that is not one (or
    that says it expired: no service would open it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    case_id, guardian_id, expires = claims.get("case_id"), claims.get("sub"), claims.get("exp")
    if "vrac-family" not in audiences or not isinstance(case_id, str) or not case_id:
        return None
    if not isinstance(guardian_id, str) or not isinstance(expires, int | float):
        return None
    if expires <= dt.datetime.now(dt.UTC).timestamp():
        return None
    return LinkClaims(case_id, guardian_id)


def family_language(case: Mapping[str, Any], guardian_id: str) -> str:
    """The language of the guardian the link was sent to, else the family's."""
    for guardian in case.get("guardians") or []:
        if guardian.get("guardian_id") == guardian_id and guardian.get("language"):
            return str(guardian["language"])
    return str(case.get("language") or "")


# -- consents --


@dataclass(frozen=True)
class ConsentRow:
    purpose: str
    agency_id: str | None
    label: str
    lets: str
    stops: str
    state: str  # granted, withdrawn or not-asked
    decided_at: str
    decided_by: str
    changeable: bool  # a share with an agency is asked by the coach first: it names one

    @property
    def key(self) -> str:
        return f"{self.purpose}:{self.agency_id}" if self.agency_id else self.purpose


def who_decided(decision: Mapping[str, Any], guardian_id: str) -> str:
    role = str(decision.get("changed_by") or "system")
    if role == "guardian" and decision.get("guardian_id") == guardian_id:
        return "You"
    return DECIDED_BY.get(role, "The platform")


def consent_rows(current: Iterable[Mapping[str, Any]], guardian_id: str) -> list[ConsentRow]:
    """One row per purpose, in a fixed order; one per organisation for sharing with one."""
    by_key = {(c.get("purpose"), c.get("agency_id")): c for c in current}
    rows: list[ConsentRow] = []
    for purpose, words in PURPOSES.items():
        keys = [k for k in by_key if k[0] == purpose] if purpose == AGENCY else [(purpose, None)]
        for key in sorted(keys, key=lambda k: str(k[1])) or [(purpose, None)]:
            decision = by_key.get(key)
            state = (
                "not-asked"
                if decision is None
                else ("granted" if decision.get("granted") else "withdrawn")
            )
            rows.append(
                ConsentRow(
                    purpose=purpose,
                    agency_id=key[1],
                    label=words.label,
                    lets=words.lets,
                    stops=words.stops,
                    state=state,
                    decided_at=str(decision.get("changed_at") or "") if decision else "",
                    decided_by=who_decided(decision, guardian_id) if decision else "",
                    changeable=purpose != AGENCY or key[1] is not None,
                )
            )
    return rows


@dataclass(frozen=True)
class HistoryRow:
    label: str
    agency_id: str | None
    granted: bool
    decided_by: str
    decided_at: str


def history_rows(history: Iterable[Mapping[str, Any]], guardian_id: str) -> list[HistoryRow]:
    """Every decision, newest first."""
    ordered = sorted(history, key=lambda d: str(d.get("changed_at") or ""), reverse=True)
    return [
        HistoryRow(
            label=PURPOSES[str(d["purpose"])].label
            if d.get("purpose") in PURPOSES
            else str(d.get("purpose")),
            agency_id=d.get("agency_id"),
            granted=bool(d.get("granted")),
            decided_by=who_decided(d, guardian_id),
            decided_at=str(d.get("changed_at") or ""),
        )
        for d in ordered
    ]


def granted(current: Iterable[Mapping[str, Any]], purpose: str) -> bool:
    return any(c.get("purpose") == purpose and c.get("granted") for c in current)


# -- the child's page --


@dataclass(frozen=True)
class Advice:
    for_parents: list[str]
    for_child: list[str]
    screened_on: str
    language: str


def latest_advice(screenings: Iterable[Mapping[str, Any]]) -> Advice | None:
    """The advice of the newest screening for the parents and for the child; None when the
    child has not been screened."""
    ordered = sorted(
        screenings,
        key=lambda s: (str(s.get("screened_on")), str(s.get("recorded_at"))),
    )
    if not ordered:
        return None
    newest = ordered[-1]
    advice = newest.get("advice") or []
    return Advice(
        for_parents=[str(a["text"]) for a in advice if a.get("audience") == "parents"],
        for_child=[str(a["text"]) for a in advice if a.get("audience") == "child"],
        screened_on=str(newest.get("screened_on") or ""),
        language=str(newest.get("advice_language") or newest.get("language") or ""),
    )


@dataclass(frozen=True)
class TaskRow:
    who: str | None  # None: a member who left the network
    what: str
    description: str | None
    when: str | None
    status: str
    state: str  # the css class of the status
    overdue: bool


def task_rows(
    tasks: Iterable[Mapping[str, Any]], members: Iterable[Mapping[str, Any]]
) -> list[TaskRow]:
    """Who does what, open tasks first, each by its due date."""
    names = {str(m.get("member_id")): m.get("display_name") for m in members}
    open_first = sorted(
        tasks,
        key=lambda t: (
            t.get("status") not in ("assigned", "accepted"),
            str(t.get("due_date") or "9999"),
        ),
    )
    state_class = {"completed": "done", "assigned": "assigned"}
    return [
        TaskRow(
            who=names.get(str(t.get("assignee_id"))),
            what=TASK_CATEGORY.get(str(t.get("category")), "Other help"),
            description=t.get("description"),
            when=t.get("due_date"),
            status=TASK_STATUS.get(str(t.get("status")), str(t.get("status"))),
            state=state_class.get(str(t.get("status")), str(t.get("status"))),
            overdue=bool(t.get("overdue")) and t.get("status") in ("assigned", "accepted"),
        )
        for t in open_first
    ]


@dataclass(frozen=True)
class MemberRow:
    name: str
    role: str
    kind: str
    relationship: str | None


def member_rows(members: Iterable[Mapping[str, Any]]) -> list[MemberRow]:
    """The members now in the network (one who left is no longer named)."""
    return [
        MemberRow(
            name=str(m["display_name"]),
            role=NETWORK_ROLE.get(str(m.get("role")), str(m.get("role"))),
            kind=MEMBER_KIND.get(str(m.get("kind")), str(m.get("kind"))),
            relationship=m.get("relationship"),
        )
        for m in members
        if m.get("display_name") and not m.get("removed_at")
    ]


def newest_first(diplomas: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(diplomas, key=lambda d: str(d.get("issued_at")), reverse=True)
