"""In-memory implementations of screening's ports: what the handlers see, without Mongo.

They keep copies, as a real store would, and every event a write carried in ``outbox``.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from vrac_contracts.consent import consent_decision, is_newer
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentChanged, ConsentRecorded
from vrac_contracts.values import Language, Pilot
from vrac_screening.adapters.credentials import CredentialIssuer, development_issuer_keys
from vrac_screening.domain.case import Case
from vrac_screening.domain.credential import Places, StatusEntry
from vrac_screening.domain.diploma import Diploma, DiplomaSheet
from vrac_screening.domain.links import DiplomaLink
from vrac_screening.domain.questionnaire import Questionnaire
from vrac_screening.domain.screening import Screening
from vrac_screening.domain.wellbeing import Measurement
from vrac_screening.handlers import Deps
from vrac_testing.keys import MemoryKeys

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
R = TypeVar("R", Screening, Diploma, Questionnaire)


@dataclass
class Outbox:
    """Every event stored, and which case's records are still waiting for the relay."""

    events: list[EventData] = field(default_factory=list)
    unsent: set[str] = field(default_factory=set)  # record ids

    def keep(self, record_id: str, events: list[EventData]) -> None:
        self.events += events
        if events:
            self.unsent.add(record_id)

    def send_all(self) -> None:
        self.unsent.clear()


class FakeCases:
    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.pending: set[str] = set()  # erasures not finished
        self.writes: dict[str, dict[str, dt.datetime]] = {}  # case -> token -> lease end
        self._tokens = itertools.count()

    def _ensure(self, case_id: str, pilot: Pilot) -> Case:
        return self.cases.setdefault(case_id, Case(case_id=case_id, pilot=pilot))

    async def get(self, case_id: str) -> Case | None:
        return copy.deepcopy(self.cases.get(case_id))

    async def record_opened(self, event: CaseOpened) -> None:
        self._ensure(event.case_id, event.pilot).opened = True

    async def keep_family(
        self, case_id: str, pilot: Pilot, child_first_name: str, language: Language
    ) -> None:
        case = self._ensure(case_id, pilot)
        if not case.erased:
            case.child_first_name, case.language = child_first_name, language

    async def record_consent(self, event: ConsentRecorded | ConsentChanged) -> None:
        key, consent = consent_decision(event)
        case = self._ensure(event.case_id, event.pilot)
        if is_newer(case.consents.get(key), consent):
            case.consents[key] = consent

    async def record_closed(self, event: CaseClosed) -> None:
        case = self._ensure(event.case_id, event.pilot)
        case.closed, case.close_reason = True, event.reason

    async def mark_erased(self, case_id: str, pilot: Pilot) -> None:
        case = self._ensure(case_id, pilot)
        case.erased, case.child_first_name, case.language = True, None, None
        case.consents = {}
        self.pending.add(case_id)

    async def begin_write(self, case_id: str, until: dt.datetime) -> str | None:
        case = self.cases.get(case_id)
        if case is None or case.erased:
            return None
        token = f"w{next(self._tokens)}"
        self.writes.setdefault(case_id, {})[token] = until
        return token

    async def begin_write_reading(
        self, case_id: str, until: dt.datetime
    ) -> tuple[str | None, Case | None]:
        return await self.begin_write(case_id, until), await self.get(case_id)

    async def end_write(self, case_id: str, token: str) -> None:
        self.writes.get(case_id, {}).pop(token, None)

    async def writes_in_flight(self, case_id: str, now: dt.datetime) -> int:
        return sum(1 for until in self.writes.get(case_id, {}).values() if until > now)

    async def erasure_done(self, case_id: str) -> None:
        self.pending.discard(case_id)

    async def erasures_pending(self) -> list[str]:
        return sorted(self.pending)


class _Records(Generic[R]):
    def __init__(self, outbox: Outbox) -> None:
        self.records: dict[str, R] = {}
        self._outbox = outbox

    def _store(self, record_id: str, record: R) -> None:
        self._outbox.keep(record_id, record.pull_events())
        self.records[record_id] = copy.deepcopy(record)

    async def erase_case(self, case_id: str) -> int:
        mine = [i for i, r in self.records.items() if r.case_id == case_id]
        waiting = [i for i in mine if i in self._outbox.unsent]
        for record_id in set(mine) - set(waiting):
            del self.records[record_id]
        return len(waiting)

    def _of_case(self, case_id: str, when: Callable[[R], dt.datetime]) -> list[R]:
        """The case's records, oldest first by ``when``."""
        mine = [copy.deepcopy(r) for r in self.records.values() if r.case_id == case_id]
        return sorted(mine, key=when)

    async def get(self, record_id: str) -> R | None:
        return copy.deepcopy(self.records.get(record_id))


class FakeScreenings(_Records[Screening]):
    async def add(self, screening: Screening) -> None:
        self._store(screening.screening_id, screening)

    async def of_case(self, case_id: str) -> list[Screening]:
        return self._of_case(case_id, lambda s: s.recorded_at)


class FakeDiplomas(_Records[Diploma]):
    async def add(self, diploma: Diploma) -> bool:
        if diploma.diploma_id in self.records:
            return False
        self._store(diploma.diploma_id, diploma)
        return True

    async def of_case(self, case_id: str) -> list[Diploma]:
        return self._of_case(case_id, lambda d: d.issued_at)


class FakeQuestionnaires(_Records[Questionnaire]):
    async def add(self, questionnaire: Questionnaire) -> None:
        self._store(questionnaire.questionnaire_id, questionnaire)

    async def of_case(self, case_id: str) -> list[Questionnaire]:
        return self._of_case(case_id, lambda q: q.submitted_at)


class FakeMeasurements(_Records[Measurement]):
    async def add(self, measurement: Measurement) -> None:
        self._store(measurement.questionnaire_id, measurement)

    async def of_case(self, case_id: str) -> list[Measurement]:
        return self._of_case(case_id, lambda m: m.submitted_at)


class FakePdfs:
    def __init__(self) -> None:
        self.pdfs: dict[str, tuple[str, bytes]] = {}  # diploma id -> (case id, pdf)

    async def get(self, diploma_id: str) -> bytes | None:
        found = self.pdfs.get(diploma_id)
        return None if found is None else found[1]

    async def put(self, diploma: Diploma, pdf: bytes, rendered_at: dt.datetime) -> None:
        self.pdfs.setdefault(diploma.diploma_id, (diploma.case_id, pdf))

    async def drop_case(self, case_id: str) -> None:
        for diploma_id in [i for i, (c, _) in self.pdfs.items() if c == case_id]:
            del self.pdfs[diploma_id]


class FakeLinks:
    def __init__(self) -> None:
        self.links: dict[str, DiplomaLink] = {}

    async def add(self, link: DiplomaLink) -> None:
        self.links[link.link_id] = link

    async def get(self, link_id: str) -> DiplomaLink | None:
        return self.links.get(link_id)

    async def put(self, link: DiplomaLink) -> None:
        self.links[link.link_id] = link

    async def of_diploma(self, diploma_id: str) -> list[DiplomaLink]:
        return [link for link in self.links.values() if link.diploma_id == diploma_id]

    async def drop_case(self, case_id: str) -> None:
        self.links = {k: v for k, v in self.links.items() if v.case_id != case_id}


class FakeStatuses:
    """The revocation list's entries by diploma id, and the next index per pilot."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[StatusEntry, str | None, list[int]]] = {}
        self.issued: dict[str, int] = {}

    def _next(self, pilot: str) -> int:
        self.issued[pilot] = self.issued.get(pilot, 0) + 1
        return self.issued[pilot] - 1

    async def get(self, diploma_id: str) -> StatusEntry | None:
        found = self.entries.get(diploma_id)
        return None if found is None else found[0]

    async def allocate(self, diploma: Diploma) -> StatusEntry:
        if diploma.diploma_id not in self.entries:
            entry = StatusEntry(diploma.diploma_id, diploma.pilot, self._next(diploma.pilot))
            self.entries[diploma.diploma_id] = (entry, diploma.case_id, [])
        return self.entries[diploma.diploma_id][0]

    async def renew(self, entry: StatusEntry) -> StatusEntry:
        old, case_id, retired = self.entries[entry.diploma_id]
        fresh = StatusEntry(entry.diploma_id, entry.pilot, self._next(entry.pilot))
        self.entries[entry.diploma_id] = (fresh, case_id, [*retired, old.index])
        return fresh

    async def revoke_case(self, case_id: str) -> None:
        for key, (entry, case, retired) in self.entries.items():
            if case == case_id:
                self.entries[key] = (replace(entry, revoked=True), case, retired)

    async def forget_case(self, case_id: str) -> None:
        await self.revoke_case(case_id)
        for key, (entry, case, retired) in self.entries.items():
            if case == case_id:
                self.entries[key] = (entry, None, retired)

    async def revoked(self, pilot: str) -> tuple[list[int], int]:
        indexes = [
            i
            for entry, _, retired in self.entries.values()
            if entry.pilot == pilot
            for i in [*retired, *([entry.index] if entry.revoked else [])]
        ]
        return indexes, self.issued.get(pilot, 0)


PLACES = Places("https://screening.vrac.example")


class FakeSigner:
    """Signs nothing: a link's token names its id and path, so a test can read them."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.ids = itertools.count(1)

    def __call__(self, path: str, seconds: int) -> tuple[str, str, int]:
        link_id = f"lnk{next(self.ids)}"
        return link_id, f"{link_id}:{path}", int(self.now.timestamp()) + seconds


class FakeRenderer:
    """Prints the child's name, and counts how often it was asked to."""

    def __init__(self) -> None:
        self.rendered = 0

    def __call__(self, sheet: DiplomaSheet, created: dt.datetime) -> bytes:
        self.rendered += 1
        return f"%PDF {sheet.child_first_name}".encode()


class FakeAudit:
    def __init__(self) -> None:
        self.erasures: list[tuple[str, str]] = []  # (case id, pilot)

    async def erased(self, case_id: str, pilot: str) -> None:
        self.erasures.append((case_id, pilot))


@dataclass
class World:
    """The fakes behind one ``Deps``, for the tests to look into."""

    outbox: Outbox
    cases: FakeCases
    screenings: FakeScreenings
    diplomas: FakeDiplomas
    questionnaires: FakeQuestionnaires
    pdfs: FakePdfs
    render: FakeRenderer
    keys: MemoryKeys
    audit: FakeAudit
    links: FakeLinks
    deps: Deps
    statuses: FakeStatuses

    @property
    def measurements(self) -> FakeMeasurements:
        assert isinstance(self.deps.measurements, FakeMeasurements)
        return self.deps.measurements


def world(now: dt.datetime = NOW) -> World:
    outbox = Outbox()
    cases, pdfs, render = FakeCases(), FakePdfs(), FakeRenderer()
    screenings, diplomas = FakeScreenings(outbox), FakeDiplomas(outbox)
    questionnaires, keys, audit = FakeQuestionnaires(outbox), MemoryKeys("intake"), FakeAudit()
    links = FakeLinks()
    deps = Deps(
        cases=cases,
        screenings=screenings,
        diplomas=diplomas,
        questionnaires=questionnaires,
        pdfs=pdfs,
        render=render,
        sealed=keys,
        audit=audit,
        links=links,
        sign_link=FakeSigner(now),
        statuses=(statuses := FakeStatuses()),
        # the real signer: pure computation, with the pilots' development keys
        issuer=CredentialIssuer(PLACES, development_issuer_keys()),
        measurements=FakeMeasurements(outbox),
        clock=lambda: now,
    )
    return World(
        outbox,
        cases,
        screenings,
        diplomas,
        questionnaires,
        pdfs,
        render,
        keys,
        audit,
        links,
        deps,
        statuses,
    )
