"""The event catalogue: the single source every other contract artefact is generated from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from pydantic import BaseModel

from . import events as ev
from .errors import ContractError
from .events.base import EventData

SERVICES: Final = ("intake", "screening", "network", "notifications", "reporting")

TOPIC_PATTERN: Final = re.compile(
    r"^vrac\.(public|internal)\.[a-z]+(-[a-z]+)*\.[a-z]+(-[a-z]+)*\.v[1-9][0-9]*$"
)
TYPE_PATTERN: Final = re.compile(r"^org\.vrac\.[a-z]+(-[a-z]+)*\.[a-z]+(-[a-z]+)*\.v[1-9][0-9]*$")
PUBLIC_TOPIC_PREFIX: Final = "vrac.public."
# Dead letters live outside the public prefix: a partner may read every public topic by
# prefix, but a dead letter is an operator's business (and may hold a malformed payload).
DLQ_TOPIC_PREFIX: Final = "vrac.dlq."


class Audience(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


@dataclass(frozen=True)
class EventSpec:
    """One event type: where it is published, what its data looks like, who reads it."""

    service: str
    event: str
    major: int
    audience: Audience
    model: type[EventData]
    description: str
    example: dict[str, Any] = field(repr=False)
    consumers: tuple[str, ...]
    key_field: str = "case_id"
    # the ce_type that replaces this one: it is no longer published (its topic stays for the
    # records still retained); see "Deprecated topics" in the partner guide
    superseded_by: str | None = None

    @property
    def topic(self) -> str:
        return f"vrac.{self.audience}.{self.service}.{self.event}.v{self.major}"

    @property
    def ce_type(self) -> str:
        return f"org.vrac.{self.service}.{self.event}.v{self.major}"

    @property
    def dlq_topic(self) -> str:
        """Where consumers put the events of this topic they could not handle."""
        return DLQ_TOPIC_PREFIX + self.topic.removeprefix("vrac.")

    @property
    def source(self) -> str:
        return f"/vrac/{self.service}"

    @property
    def schema_file(self) -> str:
        """Path of the JSON Schema, relative to the contracts folder."""
        return f"schemas/{self.ce_type}.json"

    def group_for(self, consumer: str) -> str:
        """The consumer group id ``consumer`` reads this event with."""
        if consumer not in self.consumers:
            raise ContractError("consumer", f"{consumer} does not consume {self.ce_type}")
        return consumer_group(consumer, CONSUMER_ROLES.get((consumer, self.ce_type)))


def consumer_group(service: str, role: str | None = None) -> str:
    """Kafka consumer group id: ``vrac.<service>`` or ``vrac.<service>.<role>``."""
    if service not in SERVICES:
        raise ContractError("service", "not a VRAC service")
    if role is None:
        return f"vrac.{service}"
    if not re.fullmatch(r"[a-z]+(-[a-z]+)*", role):
        raise ContractError("role", "must be kebab-case letters")
    return f"vrac.{service}.{role}"


_PUBLIC, _INTERNAL = Audience.PUBLIC, Audience.INTERNAL
_CASE = "case_7Hq2mX9aK3pL0sVd"
_T = "2025-03-14T09:30:00Z"
_BASE: Final[dict[str, Any]] = {"case_id": _CASE, "pilot": "leiden", "occurred_at": _T}
# what every task event's example has in common (task-overdue's assignee is a professional)
_TASK: Final[dict[str, Any]] = {
    **_BASE,
    "task_id": "task_1a2b3c4d5e6f",
    "assignee_id": "mbr_4d5e6f7a8b9c",
    "assignee_kind": "family",
}

# every public event also goes to reporting; listed here are the other consumers
_INTAKE_READERS = ("screening", "network", "notifications")

# one spec's service, event, version, audience and model stay on one line


def _access_recorded(service: str, example: dict[str, Any]) -> EventSpec:
    """The audit topic of one service: its entries, kept by intake (the owner of the case)."""
    return EventSpec(
        service,
        "access-recorded",
        1,
        _INTERNAL,
        ev.ACCESS_RECORDED[service],
        f"Someone read or changed a case's personal data through {service}: who (subject, "
        "role, pilot), what (route template, action, status), when. No personal data.",
        {**example, "service": service},
        ("intake",),
    )


_ACCESS: Final[dict[str, Any]] = {
    **_BASE,
    "entry_id": "aud_0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "actor_subject": "coach-0042",
    "actor_role": "coach",
    "actor_pilot": "leiden",
    "action": "read",
    "method": "GET",
    "resource": "/cases/{case_id}/tasks",
    "status": 200,
}

_CONSENT: Final[dict[str, Any]] = {
    **_BASE,
    "purpose": "share-with-agency",
    "granted": True,
    "changed_by": "guardian",
    "changed_at": _T,
}


def _sealed(key_id: str) -> dict[str, Any]:
    """An example sealed value (not real ciphertext: no key opens it)."""
    return {
        "key_id": key_id,
        "alg": "A256GCM",
        "nonce": "q1w2e3r4t5y6u7i8",
        "ciphertext": "c2VhbGVkLWV4YW1wbGUtb25seS1ub3QtcmVhbA",
    }


# fmt: off
CATALOGUE: Final[tuple[EventSpec, ...]] = (
    EventSpec(
        "intake", "case-opened", 1, _PUBLIC, ev.CaseOpened,
        "A child and family entered a programme of a pilot.",
        {**_BASE, "programme": "pit", "opened_at": "2025-03-14T09:00:00+01:00"},
        (*_INTAKE_READERS, "reporting"),
    ),
    EventSpec(
        "intake", "case-closed", 1, _PUBLIC, ev.CaseClosed,
        "A case was closed, with a coded reason.",
        {**_BASE, "reason": "completed"},
        (*_INTAKE_READERS, "reporting"),
    ),
    EventSpec(
        "intake", "consent-changed", 1, _PUBLIC, ev.ConsentChanged,
        "The parents granted or withdrew consent for one purpose (and, for sharing with an "
        "agency, one agency).",
        {
            **_BASE,
            "purpose": "share-with-agency",
            "granted": True,
            "agency_id": "agy_youthteam0001",
            "changed_by": "guardian",
            "changed_at": _T,
        },
        (),
        superseded_by="org.vrac.intake.consent-changed.v2",
    ),
    EventSpec(
        "intake", "consent-changed", 2, _PUBLIC, ev.ConsentChangedV2,
        "The parents granted or withdrew consent for one purpose. Which agency a "
        "share-with-agency decision is about is not said.",
        dict(_CONSENT),
        ("reporting",),
    ),
    EventSpec(
        "intake", "consent-recorded", 1, _INTERNAL, ev.ConsentRecorded,
        "A consent decision, with the agency it is about for share-with-agency. Which "
        "agencies a family trusts is a fact about the family; never for partners.",
        {**_CONSENT, "agency_id": "agy_youthteam0001"},
        _INTAKE_READERS,
    ),
    EventSpec(
        "intake", "family-registered", 1, _INTERNAL, ev.FamilyRegistered,
        "The family's details: the child's first name and birth year, language, school and "
        "guardians with their contact channels. Personal data; never for partners.",
        {
            **_BASE,
            "child_first_name": "Sam",
            "birth_year": 2016,
            "language": "nl",
            "school_name": "De Regenboog",
            "programme": "pit",
            "guardians": [
                {
                    "guardian_id": "gdn_a1b2c3d4e5f6",
                    "name": "Fatima",
                    "email": "fatima@example.org",
                    "phone": "+31612345678",
                    "preferred_channel": "sms",
                    "language": "nl",
                }
            ],
        },
        (),
        superseded_by="org.vrac.intake.family-registered.v2",
    ),
    EventSpec(
        "intake", "family-registered", 2, _INTERNAL, ev.FamilyRegisteredV2,
        "The family's details: language and programme in clear; the child's first name, "
        "birth year and school, and each guardian's name and contacts, sealed with data keys "
        "intake destroys on erasure.",
        {
            **_BASE,
            "language": "nl",
            "programme": "pit",
            "child": _sealed(_CASE),
            "guardians": [
                {
                    "guardian_id": "gdn_a1b2c3d4e5f6",
                    "preferred_channel": "email",
                    "language": "nl",
                    "details": _sealed("gdn_a1b2c3d4e5f6"),
                }
            ],
        },
        ("screening", "notifications"),
    ),
    EventSpec(
        "intake", "guardian-removed", 1, _INTERNAL, ev.GuardianRemoved,
        "A guardian was removed from the family's record; their details are erased.",
        {**_BASE, "guardian_id": "gdn_a1b2c3d4e5f6"},
        ("notifications",),
    ),
    EventSpec(
        "screening", "screening-completed", 1, _PUBLIC, ev.ScreeningCompleted,
        "A screening of the child's talents and skills was completed: strengths, growth "
        "areas and coded advice for school, parents and child.",
        {
            **_BASE,
            "screening_id": "scr_9f8e7d6c5b4a",
            "language": "nl",
            "strengths": ["working-memory", "moral-reasoning"],
            "growth_areas": ["reading", "emotion-regulation"],
            "advice": [
                {"code": "memory-for-reading", "audience": "school"},
                {"code": "quiet-place-in-class", "audience": "school"},
                {"code": "name-the-feeling", "audience": "parents"},
                {"code": "show-your-strength", "audience": "child"},
            ],
        },
        (),
        superseded_by="org.vrac.screening.screening-completed.v2",
    ),
    EventSpec(
        "screening", "screening-completed", 2, _PUBLIC, ev.ScreeningCompletedV2,
        "A screening of the child's talents and skills was completed, with the strengths it "
        "found. Growth areas and advice are not said.",
        {**_BASE, "screening_id": "scr_9f8e7d6c5b4a", "strengths": ["working-memory"]},
        ("reporting",),
    ),
    EventSpec(
        "screening", "findings-recorded", 1, _INTERNAL, ev.FindingsRecorded,
        "What a completed screening found: strengths, growth areas and coded advice for "
        "school, parents and child, in the family's language. Never for partners.",
        {
            **_BASE,
            "screening_id": "scr_9f8e7d6c5b4a",
            "language": "nl",
            "strengths": ["working-memory", "moral-reasoning"],
            "growth_areas": ["reading"],
            "advice": [{"code": "memory-for-reading", "audience": "school"}],
        },
        ("screening", "notifications"),
    ),
    EventSpec(
        "screening", "diploma-issued", 1, _PUBLIC, ev.DiplomaIssued,
        "A diploma naming the child's strengths was made in the family's language.",
        {
            **_BASE,
            "diploma_id": "dip_0c1d2e3f4a5b6c7d",
            "screening_id": "scr_9f8e7d6c5b4a",
            "language": "nl",
            "strengths": ["working-memory", "moral-reasoning"],
        },
        ("notifications", "reporting"),
    ),
    EventSpec(
        "screening", "questionnaire-submitted", 1, _PUBLIC, ev.QuestionnaireSubmitted,
        "A wellbeing questionnaire was filled in; only its instrument and band are shared.",
        {
            **_BASE,
            "questionnaire_id": "qnr_5e6f7a8b9c0d",
            "instrument": "kidscreen-10",
            "wellbeing_band": "moderate",
            "respondent": "child",
        },
        (),
        superseded_by="org.vrac.screening.questionnaire-submitted.v2",
    ),
    EventSpec(
        "screening", "questionnaire-submitted", 2, _PUBLIC, ev.QuestionnaireSubmittedV2,
        "A wellbeing questionnaire was filled in; only its instrument and respondent are "
        "shared, not its result.",
        {
            **_BASE,
            "questionnaire_id": "qnr_5e6f7a8b9c0d",
            "instrument": "kidscreen-10",
            "respondent": "child",
        },
        ("reporting",),
    ),
    EventSpec(
        "screening", "wellbeing-measured", 1, _INTERNAL, ev.WellbeingMeasured,
        "A questionnaire was scored from its item responses: outcome band and change since "
        "the baseline. A fact about one child: for reporting's suppressed figures only.",
        {
            **_BASE,
            "questionnaire_id": "qnr_5e6f7a8b9c0d",
            "instrument": "who-5",
            "respondent": "child",
            "occasion": "follow-up",
            "wellbeing_band": "high",
            "change": "improved",
        },
        ("reporting",),
    ),
    EventSpec(
        "network", "member-added", 1, _INTERNAL, ev.MemberAdded,
        "Someone joined the child's support network, with how to reach them. Personal data; "
        "never for partners.",
        {
            **_BASE,
            "member_id": "mbr_4d5e6f7a8b9c",
            "kind": "family",
            "role": "supporter",
            "display_name": "Oma Ria",
            "relationship": "grandmother",
            "email": "ria@example.org",
            "phone": None,
            "webhook_url": None,
            "agency_id": None,
            "channel": "email",
            "language": "nl",
        },
        (),
        superseded_by="org.vrac.network.member-added.v2",
    ),
    EventSpec(
        "network", "member-added", 2, _INTERNAL, ev.MemberAddedV2,
        "Someone joined the child's support network: kind, role, channel and language in "
        "clear; name, relationship and contacts sealed with the member's data key.",
        {
            **_BASE,
            "member_id": "mbr_4d5e6f7a8b9c",
            "kind": "family",
            "role": "supporter",
            "agency_id": None,
            "channel": "email",
            "language": "nl",
            "details": _sealed("mbr_4d5e6f7a8b9c"),
        },
        ("notifications",),
    ),
    EventSpec(
        "network", "member-edited", 1, _INTERNAL, ev.MemberEdited,
        "The coach changed a member's role, channel, language or details: the member as they "
        "are now, name, relationship and contacts sealed with the member's data key.",
        {
            **_BASE,
            "member_id": "mbr_4d5e6f7a8b9c",
            "kind": "family",
            "role": "base-worker",
            "agency_id": None,
            "channel": "email",
            "language": "nl",
            "details": _sealed("mbr_4d5e6f7a8b9c"),
        },
        ("notifications",),
    ),
    EventSpec(
        "network", "member-removed", 1, _INTERNAL, ev.MemberRemoved,
        "Someone left the child's support network; their details are erased.",
        {**_BASE, "member_id": "mbr_4d5e6f7a8b9c"},
        ("notifications",),
    ),
    EventSpec(
        "network", "network-measured", 1, _INTERNAL, ev.NetworkMeasured,
        "A case's network changed (a member added, edited or removed): its size, informal "
        "members and the sectors it covers, as counts and codes only.",
        {**_BASE, "size": 4, "informal_members": 3, "sectors_covered": ["family", "school"]},
        ("reporting",),
    ),
    EventSpec(
        "network", "task-assigned", 1, _PUBLIC, ev.TaskAssigned,
        "A task of the care plan was given to a member of the network.",
        {
            **_TASK,
            "category": "homework-support",
            "due_date": "2025-03-28",
        },
        ("notifications", "reporting"),
    ),
    EventSpec(
        "network", "task-accepted", 1, _PUBLIC, ev.TaskAccepted,
        "The assignee accepted a task.",
        dict(_TASK),
        ("reporting",),
    ),
    EventSpec(
        "network", "task-declined", 1, _PUBLIC, ev.TaskDeclined,
        "The assignee declined a task; the team finds someone else.",
        {
            **_TASK,
            "decline_reason": "no-time",
        },
        (),
        superseded_by="org.vrac.network.task-declined.v2",
    ),
    EventSpec(
        "network", "task-declined", 2, _PUBLIC, ev.TaskDeclinedV2,
        "The assignee declined a task; the network's coordinator (spider in the web), named "
        "by member id, finds someone else.",
        {
            **_TASK,
            "decline_reason": "no-time",
            "coordinator_id": "mbr_9c8b7a6f5e4d",
        },
        ("notifications", "reporting"),
    ),
    EventSpec(
        "network", "task-completed", 1, _PUBLIC, ev.TaskCompleted,
        "The assignee did the task.",
        dict(_TASK),
        ("reporting",),
    ),
    EventSpec(
        "network", "task-overdue", 1, _PUBLIC, ev.TaskOverdue,
        "A task passed its due date without being completed.",
        {
            **_TASK,
            "assignee_kind": "professional",
            "due_date": "2025-03-28",
        },
        ("notifications", "reporting"),
    ),
    EventSpec(
        "network", "task-due-soon", 1, _INTERNAL, ev.TaskDueSoon,
        "An open task is due within the configured number of days: remind its assignee. "
        "Once per task and due date.",
        {**_TASK, "due_date": "2025-03-28", "due_on": "2025-03-28"},
        ("notifications",),
    ),
    EventSpec(
        "network", "task-edited", 1, _INTERNAL, ev.TaskEdited,
        "The coach changed a task's category or due date; its note stays in network.",
        {**_TASK, "category": "transport", "due_date": "2025-04-04"},
        (),
    ),
    EventSpec(
        "network", "task-reassigned", 1, _INTERNAL, ev.TaskReassigned,
        "A task was given to another member of the network.",
        {
            **_TASK,
            "previous_assignee_id": "mbr_9c8b7a6f5e4d",
            "category": "homework-support",
            "due_date": "2025-03-28",
        },
        (),
    ),
    EventSpec(
        "network", "task-cancelled", 1, _INTERNAL, ev.TaskCancelled,
        "The coach cancelled a task.",
        dict(_TASK),
        (),
    ),
    EventSpec(
        "notifications", "notification-delivered", 1, _INTERNAL, ev.NotificationDelivered,
        "A notification reached its recipient's channel.",
        {
            **_BASE,
            "notification_id": "ntf_7b8c9d0e1f2a",
            "recipient_id": "gdn_a1b2c3d4e5f6",
            "channel": "sms",
            "trigger_event_id": "2f1c9a4e-8d3b-4f6a-9e2d-7c5b1a0f3e8d",
            "attempts": 1,
        },
        (),
    ),
    EventSpec(
        "notifications", "notification-failed", 1, _INTERNAL, ev.NotificationFailed,
        "A notification could not be delivered.",
        {
            **_BASE,
            "notification_id": "ntf_7b8c9d0e1f2a",
            "recipient_id": "agy_youthteam0001",
            "channel": "webhook",
            "trigger_event_id": "2f1c9a4e-8d3b-4f6a-9e2d-7c5b1a0f3e8d",
            "attempts": 5,
            "error_code": "http-error",
            "final": True,
        },
        (),
    ),
    *(_access_recorded(service, _ACCESS) for service in ev.ACCESS_RECORDED),
)
# fmt: on

# consumers that read an event in a group of their own rather than the service's main group
CONSUMER_ROLES: Final[dict[tuple[str, str], str]] = {
    ("screening", "org.vrac.screening.findings-recorded.v1"): "diploma-maker",
}

_BY_TYPE: Final = {s.ce_type: s for s in CATALOGUE}
_BY_TOPIC: Final = {s.topic: s for s in CATALOGUE}
_BY_MODEL: Final[dict[type[BaseModel], EventSpec]] = {s.model: s for s in CATALOGUE}


def _lookup(table: dict[Any, EventSpec], key: Any, field: str, problem: str) -> EventSpec:
    try:
        return table[key]
    except (KeyError, TypeError):
        raise ContractError(field, problem) from None


def by_type(ce_type: str) -> EventSpec:
    """The spec of CloudEvents type ``ce_type``; ContractError when unknown."""
    return _lookup(_BY_TYPE, ce_type, "ce_type", "not a known VRAC event type")


def by_topic(topic: str) -> EventSpec:
    """The spec of the event published on ``topic``; ContractError when unknown."""
    return _lookup(_BY_TOPIC, topic, "topic", "not a known VRAC topic")


def spec_for(model: type[BaseModel]) -> EventSpec:
    """The spec whose data model is ``model``; ContractError when it is not an event model."""
    name = getattr(model, "__name__", "model")
    return _lookup(_BY_MODEL, model, "model", f"{name} is not an event model")


def public() -> tuple[EventSpec, ...]:
    return tuple(s for s in CATALOGUE if s.audience is Audience.PUBLIC)


def produced_by(service: str) -> tuple[EventSpec, ...]:
    return tuple(s for s in CATALOGUE if s.service == service)


def consumed_by(service: str) -> tuple[EventSpec, ...]:
    return tuple(s for s in CATALOGUE if service in s.consumers)


def consumer_groups(service: str) -> tuple[str, ...]:
    """Every consumer group id ``service`` uses, e.g. for ACLs."""
    groups = {s.group_for(service) for s in consumed_by(service)}
    return tuple(sorted(groups))
