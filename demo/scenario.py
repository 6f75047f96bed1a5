"""The Leiden PIT case, step by step: the one scenario ``make demo`` shows and the e2e test checks.

``walk`` takes one case through intake, consent, screening and advice, the diploma, the
network, tasks and the overdue sweep, the e-mails and signed webhooks that went out, and
Leiden's pilot report. Each step returns what happened (a small record that can also say it
in lines of text); ``make demo`` prints those lines, the end-to-end test asserts on the
records. Events travel through Kafka, so a step that depends on another service's reaction
waits for it with ``vrac_testing.polling.eventually``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import httpx
from vrac_testing.builders import family_registration
from vrac_testing.polling import eventually
from vrac_testing.processes import Platform
from vrac_testing.sinks import ReceivedHook, ReceivedMail, SmtpSink, WebhookReceiver
from vrac_testing.tokens import bearer

AGENCY = "agy_youthteamleiden1"
# a Standard Webhooks secret: whsec_ + base64 of the key
WEBHOOK_SECRET = "whsec_eW91dGgtdGVhbS1zaGFyZWQtc2VjcmV0LWZvci10aGUtZGVtbw=="
GUARDIAN_EMAIL = "fatima@example.org"
GRANDMOTHER_EMAIL = "oma@example.org"
TEACHER_EMAIL = "juf@regenboog.example.org"
# a note for the team on the grandmother's task: free text about the child, never published
TASK_NOTE = "Dinsdag na school samen lezen met Sam, bij oma thuis"

# Waiting for another service's reaction: generous, the first consumer-group join of a fresh
# set of services takes a few seconds, more on a busy machine.
REACTION_TIMEOUT = 60.0
POLL_INTERVAL = 0.3

CONSENTS: tuple[tuple[str, dict[str, str]], ...] = (
    ("screening", {}),
    ("diploma", {}),
    ("share-with-school", {}),
    ("share-with-agency", {"agency_id": AGENCY}),
    ("reporting", {}),
)

SCORES = {
    "scores": [
        {"domain": "working-memory", "kind": "percentile", "score": 88},
        {"domain": "reading", "kind": "standard-score", "score": 82},
        {"domain": "moral-reasoning", "kind": "qualitative", "rating": "well-above"},
        {"domain": "creativity", "kind": "percentile", "score": 91},
    ]
}

MEMBERS: dict[str, dict[str, str]] = {
    "grandmother": {
        "kind": "informal",
        "role": "base-worker",
        "display_name": "Oma Aziza",
        "relationship": "grandmother",
        "email": GRANDMOTHER_EMAIL,
        "channel": "email",
        "language": "nl",
    },
    "teacher": {
        "kind": "professional",
        "role": "teacher",
        "display_name": "Juf Marieke",
        "relationship": "class teacher",
        "email": TEACHER_EMAIL,
        "channel": "email",
        "language": "nl",
    },
    "youth team": {
        "kind": "agency",
        "role": "spider-in-the-web",
        "display_name": "Jeugdteam Leiden",
        "relationship": "youth team",
        "agency_id": AGENCY,
        "channel": "webhook",
        "language": "nl",
    },
}


class DemoFailed(RuntimeError):
    """A service answered a step with an error."""


async def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    """``eventually`` with the scenario's timeout and a polling pace gentle on the services."""
    return await eventually(probe, what, timeout=REACTION_TIMEOUT, interval=POLL_INTERVAL)


# What each step returns -------------------------------------------------------------------


@dataclass
class Intake:
    case_id: str
    guardian_id: str

    def lines(self) -> list[str]:
        return [f"case {self.case_id} opened; guardian {self.guardian_id}"]


@dataclass
class Consent:
    granted: list[str]

    def lines(self) -> list[str]:
        return [f"granted: {purpose}" for purpose in self.granted]


@dataclass
class Screening:
    strengths: list[str]
    growth_areas: list[str]
    advice: list[dict[str, str]]

    def lines(self) -> list[str]:
        return [
            "strengths: " + ", ".join(self.strengths),
            "growth areas: " + ", ".join(self.growth_areas),
            *(f"advice for {item['audience']}: {item['text']}" for item in self.advice),
        ]


@dataclass
class Diploma:
    diploma_id: str
    path: Path
    size: int

    def lines(self) -> list[str]:
        return [f"diploma {self.diploma_id}: {self.path} ({self.size} bytes)"]


@dataclass
class Credential:
    diploma_id: str
    chars: int
    verdict: dict[str, Any]

    def lines(self) -> list[str]:
        shown = (
            "verified" if self.verdict["verified"] else f"NOT verified: {self.verdict['reason']}"
        )
        return [
            f"Open Badges 3.0 credential of diploma {self.diploma_id}: a JWT of {self.chars} "
            f"characters, signed by {self.verdict['issuer']}",
            f"checked by anyone, without a token: {shown}",
        ]


@dataclass
class Network:
    members: dict[str, str]

    def lines(self) -> list[str]:
        return [
            f"added {key}: {member_id} ({MEMBERS[key]['role']})"
            for key, member_id in self.members.items()
        ]


@dataclass
class Tasks:
    assigned: list[tuple[str, str, str, str]]  # category, who, due date, task id
    overdue_reported: int

    def lines(self) -> list[str]:
        return [
            *(
                f"{category} -> {who}, due {due} ({task_id})"
                for category, who, due, task_id in self.assigned
            ),
            f"overdue sweep reported {self.overdue_reported} task(s)",
        ]


@dataclass
class Notifications:
    mails: list[ReceivedMail]
    hooks: list[ReceivedHook]
    diploma_link: str
    link_opened: httpx.Response
    deliveries: list[dict[str, Any]]

    def lines(self) -> list[str]:
        return [
            *(f"e-mail to {', '.join(m.recipients)}: {m.subject}" for m in self.mails),
            *(
                f"webhook to youth team: signature valid={h.signed_with(WEBHOOK_SECRET)}, "
                f"{len(h.body)} bytes"
                for h in self.hooks
            ),
            "the parent's diploma link opens without an account: "
            f"HTTP {self.link_opened.status_code}",
            f"{len(self.deliveries)} deliveries recorded",
        ]


@dataclass
class Report:
    csv: str

    def lines(self) -> list[str]:
        return [self.csv.strip()]

    def leiden(self) -> dict[str, str]:
        """The first month's row of the report, by column."""
        header, row = self.csv.strip().splitlines()[:2]
        return dict(zip(header.split(","), row.split(","), strict=True))


# what the audit answer must show once the journey is done: (service, role, action, resource)
AUDITED: Final = (
    ("intake", "coach", "create", "/cases"),
    ("intake", "coach", "create", "/cases/{case_id}/consents"),
    ("screening", "coach", "create", "/cases/{case_id}/screenings"),
    ("screening", "coach", "read", "/diplomas/{diploma_id}.pdf"),
    ("screening", "family", "read", "/diplomas/{diploma_id}.pdf"),
    ("network", "coach", "create", "/cases/{case_id}/members"),
    ("network", "coach", "create", "/cases/{case_id}/tasks"),
    ("notifications", "coach", "read", "/cases/{case_id}/deliveries"),
)


@dataclass
class Audit:
    """The pilot lead's answer to "who saw or changed this child's file", oldest first."""

    entries: list[dict[str, Any]]

    def seen(self) -> set[tuple[str, str, str, str]]:
        return {(e["service"], e["actor_role"], e["action"], e["resource"]) for e in self.entries}

    def lines(self) -> list[str]:
        """A short table: one row per run of like entries (polling repeats a read)."""
        rows: list[list[Any]] = []  # when, service, who, action, resource, status, times
        for e in self.entries:
            who = f"{e['actor_role']} {e['actor_subject']}"
            like = [e["service"], who, e["action"], e["resource"], e["status"]]
            if rows and rows[-1][1:6] == like:
                rows[-1][6] += 1
            else:
                rows.append([e["occurred_at"][11:19], *like, 1])
        table = [f"{'when':8}  {'service':13}  {'who (role subject)':24}  {'action':6}  resource"]
        for when, service, who, action, resource, status, times in rows:
            extra = (f" {status}" if status >= 300 else "") + (f" (x{times})" if times > 1 else "")
            table.append(f"{when:8}  {service:13}  {who:24}  {action:6}  {resource}{extra}")
        return [*table, f"{len(self.entries)} entries; none holds a name or an address"]


# the services that keep a copy of the family's personal data and erase it on their own
ERASING_SERVICES: Final = ("screening", "network", "notifications")


@dataclass
class Erasure:
    """The family asked for erasure: intake's answer, and when each service erased its copy
    (from the audit trail, where each records the erasure it did)."""

    closed: dict[str, Any]
    erased_at: dict[str, str]
    keys_answer: int  # what intake answers for the case's data key now

    def lines(self) -> list[str]:
        return [
            f"intake: case closed ({self.closed['close_reason']}), the family's details "
            f"erased: {self.closed['erased']}",
            *(
                f"{service}: erased its copy at {self.erased_at[service][11:19]}"
                for service in ERASING_SERVICES
            ),
            f"the case's data key at intake: HTTP {self.keys_answer} (destroyed: the sealed "
            "copies on Kafka, in dead letters and in backups stay unreadable)",
        ]


@dataclass
class Journey:
    """Everything the walk returned, step by step."""

    intake: Intake
    consent: Consent
    screening: Screening
    diploma: Diploma
    network: Network
    tasks: Tasks
    notifications: Notifications
    report: Report
    audit: Audit


# The case -----------------------------------------------------------------------------------


@dataclass
class PitCase:
    """One Leiden PIT case against a running platform: the users, the receivers, the steps."""

    platform: Platform
    smtp: SmtpSink
    hooks: WebhookReceiver
    out: Path
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    def __post_init__(self) -> None:
        self.coach = bearer("coach", "leiden", "coach-leiden-1")
        self.lead = bearer("pilot-lead", "leiden", "lead-leiden")
        self.agency = bearer("agency", "leiden", AGENCY)

    async def __aenter__(self) -> PitCase:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.aclose()

    async def call(
        self, method: str, service: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        url = self.platform.url(service) + path
        return await self.http.request(method, url, headers=headers, **kwargs)

    async def ok(
        self, method: str, service: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> Any:
        """The JSON answer (or the response, for a PDF or CSV); an error status fails."""
        reply = await self.call(method, service, path, headers, **kwargs)
        if reply.status_code >= 400:
            raise DemoFailed(f"{method} {service}{path} -> {reply.status_code} {reply.text}")
        return reply.json() if "json" in reply.headers.get("content-type", "") else reply

    # the steps, in the order of ``walk``

    async def intake(self) -> Intake:
        case = await self.ok(
            "POST",
            "intake",
            "/cases",
            self.coach,
            json=family_registration(
                {
                    "name": "Fatima",
                    "email": GUARDIAN_EMAIL,
                    "preferred_channel": "email",
                    "language": "nl",
                }
            ),
        )
        return Intake(case["case_id"], case["guardians"][0]["guardian_id"])

    async def consent(self, case: Intake) -> Consent:
        granted = []
        for purpose, extra in CONSENTS:
            await self.record_consent(case, purpose, granted=True, **extra)
            granted.append(f"{purpose} {extra['agency_id']}" if extra else purpose)
        return Consent(granted)

    async def record_consent(
        self, case: Intake, purpose: str, *, granted: bool, agency_id: str | None = None
    ) -> Any:
        body: dict[str, Any] = {
            "purpose": purpose,
            "granted": granted,
            "recorded_by": {"guardian_id": case.guardian_id},
        }
        if agency_id is not None:
            body["agency_id"] = agency_id
        return await self.ok(
            "POST", "intake", f"/cases/{case.case_id}/consents", self.coach, json=body
        )

    async def screening(self, case: Intake) -> Screening:
        async def record() -> Any:
            reply = await self.call(
                "POST", "screening", f"/cases/{case.case_id}/screenings", self.coach, json=SCORES
            )
            return reply.json() if reply.status_code == 201 else None

        found = await wait_for("screening to know the case and its consent", record)
        return Screening(found["strengths"], found["growth_areas"], found["advice"])

    async def diploma(self, case: Intake) -> Diploma:
        diplomas = await wait_for(
            "the diploma",
            lambda: self.ok("GET", "screening", f"/cases/{case.case_id}/diplomas", self.coach),
        )
        diploma_id = diplomas[0]["diploma_id"]
        pdf = await self.ok("GET", "screening", f"/diplomas/{diploma_id}.pdf", self.coach)
        path = self.out / f"diploma-{diploma_id}.pdf"
        path.write_bytes(pdf.content)
        return Diploma(diploma_id, path, len(pdf.content))

    async def credential(self, diploma: Diploma) -> Credential:
        """The diploma's credential, as the coach gives it to the family, checked by a school
        that holds no account."""
        path = f"/diplomas/{diploma.diploma_id}/credential"
        token = (await self.ok("GET", "screening", path, self.coach)).text
        verdict = await self.ok(
            "POST", "screening", "/credentials/verify", {}, json={"credential": token}
        )
        if not verdict["verified"]:
            raise DemoFailed(f"the credential did not verify: {verdict['reason']}")
        return Credential(diploma.diploma_id, len(token), verdict)

    async def network(self, case: Intake) -> Network:
        async def plan_exists() -> bool:
            reply = await self.call("GET", "network", f"/cases/{case.case_id}/plan", self.coach)
            return reply.status_code == 200

        await wait_for("network to know the case", plan_exists)
        await self.ok(
            "PUT",
            "notifications",
            f"/agencies/{AGENCY}/webhook",
            self.agency,
            json={"url": self.hooks.url, "secret": WEBHOOK_SECRET},
        )
        members = {}
        for key, body in MEMBERS.items():
            member = await self.ok(
                "POST", "network", f"/cases/{case.case_id}/members", self.coach, json=body
            )
            members[key] = member["member_id"]
        return Network(members)

    async def assign(
        self,
        case: Intake,
        category: str,
        assignee_id: str,
        due: str | None = None,
        note: str | None = None,
    ) -> Any:
        body = {"category": category, "assignee_id": assignee_id}
        if due is not None:
            body["due_date"] = due
        if note is not None:
            body["description"] = note
        return await self.ok(
            "POST", "network", f"/cases/{case.case_id}/tasks", self.coach, json=body
        )

    async def tasks(self, case: Intake, network: Network) -> Tasks:
        today = dt.datetime.now(dt.UTC).date()
        soon = (today + dt.timedelta(days=7)).isoformat()
        past = (today - dt.timedelta(days=1)).isoformat()
        assigned = []
        for who, category, due, note in (
            ("grandmother", "homework-support", soon, TASK_NOTE),
            ("youth team", "professional-support", past, None),
        ):
            task = await self.assign(case, category, network.members[who], due, note)
            assigned.append((category, who, due, task["task_id"]))
        swept = await self.ok("POST", "network", "/sweeps/overdue", self.coach, json={})
        return Tasks(assigned, len(swept["reported"]))

    async def deliveries(self, case: Intake) -> list[dict[str, Any]]:
        found = await self.ok(
            "GET", "notifications", f"/cases/{case.case_id}/deliveries", self.coach
        )
        return list(found["deliveries"])

    async def notifications(self, case: Intake) -> Notifications:
        smtp, hooks = self.smtp, self.hooks

        def diploma_links() -> list[str]:  # the guardian also gets the screening's advice
            texts = (m.text for m in smtp.to(GUARDIAN_EMAIL))
            return [link for t in texts for link in re.findall(r"https?://\S+\.pdf\?link=\S+", t)]

        await wait_for(
            "e-mails to grandmother, teacher and guardian",
            lambda: all(smtp.to(a) for a in (GRANDMOTHER_EMAIL, TEACHER_EMAIL)) and diploma_links(),
        )
        await wait_for("the youth team's webhooks", lambda: len(hooks.hooks) >= 2)
        [link] = diploma_links()
        opened = await self.http.get(link)  # no Authorization header: no account needed
        return Notifications(
            list(smtp.messages), list(hooks.hooks), link, opened, await self.deliveries(case)
        )

    async def report(self) -> Report:
        async def leiden_row() -> Any:
            csv = await self.ok("GET", "reporting", "/reports/pilots/leiden?format=csv", self.lead)
            return csv if len(csv.text.strip().splitlines()) >= 2 else None

        csv = await wait_for("reporting to count Leiden's case", leiden_row)
        return Report(csv.text)

    async def audit(self, case: Intake) -> Audit:
        """Who saw or changed the case's file, as its pilot lead asks (every page)."""

        async def everything() -> Audit | None:
            entries: list[dict[str, Any]] = []
            offset: int | None = 0
            while offset is not None:
                page = await self.ok(
                    "GET",
                    "intake",
                    f"/cases/{case.case_id}/audit",
                    self.lead,
                    params={"offset": offset, "limit": 100},
                )
                entries += page["entries"]
                offset = page["next_offset"]
            found = Audit(entries)
            return found if set(AUDITED) <= found.seen() else None

        answer: Audit = await wait_for("the audit trail of the journey", everything)
        return answer

    async def erase(self, case: Intake) -> Erasure:
        """The parents ask for erasure: the coach closes the case with that reason, and
        every service erases its copy on its own, as the audit trail then shows."""
        closed = await self.ok(
            "POST",
            "intake",
            f"/cases/{case.case_id}/close",
            self.coach,
            json={"reason": "erasure-requested"},
        )

        async def all_erased() -> dict[str, str] | None:
            entries = (await self.audit(case)).entries
            erased = {e["service"]: e["occurred_at"] for e in entries if e.get("trigger_type")}
            return erased if set(ERASING_SERVICES) <= set(erased) else None

        erased_at = await wait_for("every service to erase its copy", all_erased)
        return Erasure(closed, erased_at, await self.data_key_status(case.case_id))

    async def data_key_status(self, key_id: str) -> int:
        """What intake answers notifications (a reader of sealed family data) for a key."""
        path = f"/internal/data-keys/{key_id}"
        caller = bearer("service", "*", "notifications")
        return (await self.call("GET", "intake", path, caller)).status_code


TITLES = {
    "intake": "1. intake: the coach registers the family (Leiden, PIT programme)",
    "consent": "2. consent: the parents decide what is shared, and with whom",
    "screening": "3. screening: the university's results, strengths and advice",
    "diploma": "4. diploma: made asynchronously by the diploma maker, in Dutch",
    "credential": "4b. credential: the diploma as an Open Badges 3.0 credential anyone can check",
    "network": "5. network: grandmother, the teacher and the youth team",
    "tasks": "6. tasks: who does what",
    "picture": "6b. the network picture, and the grandmother answering from her task link",
    "notifications": "7. notifications: e-mails and webhooks that went out",
    "report": "8. report: Leiden's pilot report (small counts, and any that reveal them, hidden)",
    "audit": "9. audit: the pilot lead asks who saw or changed the child's file",
    "erasure": "10. erasure: the parents ask for it; every service erases its copy",
}


_TASK_LINK = re.compile(r"/task-links/([A-Za-z0-9._~-]+)")


@dataclass
class Picture:
    path: Path
    answered: str

    def lines(self) -> list[str]:
        return [
            f"network map: {self.path}",
            f"the grandmother accepted her task from the link, no account: {self.answered}",
        ]


async def network_picture(pit: PitCase, case: Intake) -> Picture:
    """The eco-map saved beside the diploma; the grandmother answers her task from the link
    in her task e-mail, without an account."""
    svg = await pit.ok("GET", "network", f"/cases/{case.case_id}/map.svg", pit.coach)
    path = pit.out / f"network-{case.case_id}.svg"
    path.write_bytes(svg.content)

    def task_link() -> str | None:
        for mail in pit.smtp.to(GRANDMOTHER_EMAIL):
            found = _TASK_LINK.search(mail.text)
            if found:
                return found.group(1)
        return None

    token = await wait_for("the grandmother's task e-mail with its answer link", task_link)
    answer = await pit.ok(
        "POST", "network", f"/task-links/{token}/answer", {}, json={"answer": "accept"}
    )
    return Picture(path, answer["status"])


def _silent(text: str) -> None:
    pass


async def walk(
    pit: PitCase,
    step: Callable[[str], None] = _silent,
    say: Callable[[str], None] = _silent,
) -> Journey:
    """Take the case through every step: ``step(title)`` as one begins, ``say(line)`` for
    each line of what it returned once it ends."""

    async def run(name: str, action: Awaitable[Any]) -> Any:
        step(TITLES[name])
        result = await action
        for line in result.lines():
            say(line)
        return result

    intake: Intake = await run("intake", pit.intake())
    consent: Consent = await run("consent", pit.consent(intake))
    screening: Screening = await run("screening", pit.screening(intake))
    diploma: Diploma = await run("diploma", pit.diploma(intake))
    await run("credential", pit.credential(diploma))
    network: Network = await run("network", pit.network(intake))
    tasks: Tasks = await run("tasks", pit.tasks(intake, network))
    await run("picture", network_picture(pit, intake))
    notifications: Notifications = await run("notifications", pit.notifications(intake))
    report: Report = await run("report", pit.report())
    audit: Audit = await run("audit", pit.audit(intake))
    return Journey(
        intake, consent, screening, diploma, network, tasks, notifications, report, audit
    )


async def erase(
    pit: PitCase,
    journey: Journey,
    step: Callable[[str], None] = _silent,
    say: Callable[[str], None] = _silent,
) -> Erasure:
    """The last step, apart from ``walk`` because a closed case takes no further step."""
    step(TITLES["erasure"])
    erasure = await pit.erase(journey.intake)
    for line in erasure.lines():
        say(line)
    return erasure


_FAMILY_LINK = re.compile(r"https?://\S+/family\?link=[A-Za-z0-9._~-]+")


async def family_link(pit: PitCase) -> str:
    """The link to the family's own pages, from a message to the parents."""

    def found() -> str | None:
        for mail in pit.smtp.to(GUARDIAN_EMAIL):
            link = _FAMILY_LINK.search(mail.text)
            if link:
                return link.group(0)
        return None

    link: str = await wait_for("the family's link in the parents' e-mail", found)
    return link


async def family_advice(pit: PitCase, say: Callable[[str], None] = _silent) -> ReceivedMail:
    """The parents' e-mail with the screening's advice for them and for the child, which goes
    under the screening consent; told by its subject."""

    def advice_mail() -> ReceivedMail | None:
        mails = pit.smtp.to(GUARDIAN_EMAIL)
        return next((m for m in mails if ".pdf?link=" not in m.text), None)

    mail: ReceivedMail = await wait_for("the parents' advice e-mail", advice_mail)
    say(f"the parents' advice e-mail to {GUARDIAN_EMAIL}: {mail.subject}")
    return mail


# Wellbeing: a WHO-5 at the start of support and at follow-up ------------------------------

WELLBEING_TITLE: Final = "9a. wellbeing: the child fills in the WHO-5 at the start and at follow-up"
# five answers 0-5 each; the raw score times 4 is the percentage
WHO5_BASELINE: Final = {"q1": 2, "q2": 1, "q3": 2, "q4": 2, "q5": 2}  # 9 -> 36 %
WHO5_FOLLOW_UP: Final = {"q1": 3, "q2": 3, "q3": 3, "q4": 2, "q5": 4}  # 15 -> 60 %


@dataclass
class Wellbeing:
    change: dict[str, Any]  # screening's answer for the child's WHO-5

    def lines(self) -> list[str]:
        baseline, latest = self.change["baseline"], self.change["latest"]
        return [
            f"WHO-5 at baseline: {baseline['value']} % ({baseline['band']} wellbeing)",
            f"WHO-5 at follow-up: {latest['value']} % ({latest['band']} wellbeing)",
            f"change: {self.change['difference']:+d} percentage points, {self.change['change']}"
            " (10 points or more is a reliable change)",
        ]


async def measure_wellbeing(
    pit: PitCase,
    journey: Journey,
    step: Callable[[str], None] = _silent,
    say: Callable[[str], None] = _silent,
) -> Wellbeing:
    """The parents consent to questionnaires; the child answers the WHO-5 twice; the coach
    reads the change. A step of its own, between the walk and the erasure."""
    step(WELLBEING_TITLE)
    case = journey.intake
    await pit.record_consent(case, "questionnaires", granted=True)
    path = f"/cases/{case.case_id}/wellbeing"

    def answered(occasion: str, responses: dict[str, int]) -> dict[str, Any]:
        return {
            "instrument": "who-5",
            "respondent": "child",
            "occasion": occasion,
            "responses": responses,
        }

    async def baseline() -> Any:
        body = answered("baseline", WHO5_BASELINE)
        reply = await pit.call("POST", "screening", path, pit.coach, json=body)
        return reply.json() if reply.status_code == 201 else None

    await wait_for("screening to know the questionnaires consent", baseline)
    await pit.ok("POST", "screening", path, pit.coach, json=answered("follow-up", WHO5_FOLLOW_UP))
    [change] = await pit.ok("GET", "screening", f"{path}/change", pit.coach)
    wellbeing = Wellbeing(change)
    for line in wellbeing.lines():
        say(line)
    return wellbeing


async def overdue_notice(
    pit: PitCase, journey: Journey, say: Callable[[str], None] = _silent
) -> ReceivedHook:
    """A task of the grandmother's left past its due date: besides her reminder, the youth
    team, the network's spider in the web, hears of it on its webhook (by case id, no names)."""
    case, members = journey.intake, journey.network.members
    past = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
    task = await pit.assign(case, "transport", members["grandmother"], past)
    await pit.ok("POST", "network", "/sweeps/overdue", pit.coach, json={})

    def notice() -> ReceivedHook | None:
        return next(
            (
                h
                for h in pit.hooks.hooks
                if h.json.get("kind") == "task-overdue-notice"
                and h.json.get("task_id") == task["task_id"]
            ),
            None,
        )

    hook: ReceivedHook = await wait_for("the coordinator's overdue notice", notice)
    say(
        f"youth team (spider in the web) told of overdue task {task['task_id']}: "
        f"{hook.json['subject']}"
    )
    return hook


NETWORK_COLUMNS: Final = (
    "network_cases_measured",
    "network_mean_size",
    "network_informal_share",
    "network_cases_three_sectors_or_more",
)


async def network_figures(
    pit: PitCase, journey: Journey, say: Callable[[str], None] = _silent
) -> dict[str, str]:
    """The network's measure in the care plan, and the pilot report's network columns (one
    case is below the threshold, so they are hidden)."""
    plan = await pit.ok("GET", "network", f"/cases/{journey.intake.case_id}/plan", pit.coach)
    metrics = plan["metrics"]
    sectors = ", ".join(metrics["sectors_covered"])
    say(
        f"the plan measures the network: {metrics['size']} members, informal share "
        f"{metrics['informal_share']}, sectors {sectors}"
    )
    row = journey.report.leiden()
    cells = {column: row[column] for column in NETWORK_COLUMNS}
    say("in Leiden's report: " + ", ".join(f"{k}={v or 'null'}" for k, v in cells.items()))
    return cells
