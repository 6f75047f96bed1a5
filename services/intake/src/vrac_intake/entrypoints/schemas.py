"""Request and response bodies of the HTTP API.

Requests refuse unknown fields, so a misspelt field is a 422 naming it rather than a value
silently ignored. The limits match the family-registered contract, so whatever is accepted
here can be published.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    StrictBool,
    field_validator,
    model_validator,
)
from vrac_contracts import values as vocab
from vrac_contracts.events.audit import AccessRecorded
from vrac_contracts.events.intake import ProgrammeSlug
from vrac_contracts.ids import AgencyId, CaseId, GuardianId
from vrac_runtime.schemas import Attributes, Email, OneLine, Phone, Request, trimmed
from vrac_runtime.values import from_attributes

from vrac_intake.domain.case import Case, CaseStatus
from vrac_intake.domain.commands import RegisterFamily
from vrac_intake.domain.consent import ConsentDecision, Recorder
from vrac_intake.domain.family import MAX_GUARDIANS, GuardianDetails
from vrac_intake.domain.links import FamilyLink, LinkState

PersonName = Annotated[str, trimmed(120), OneLine]
ChildName = Annotated[str, trimmed(80), OneLine]
SchoolName = Annotated[str, trimmed(160), OneLine]
IDEMPOTENCY_KEY = r"^[A-Za-z0-9._:-]{8,100}$"


class GuardianIn(Request):
    name: PersonName = Field(description="Name as the guardian wants to be addressed.")
    email: Email | None = Field(None, description="E-mail address.")
    phone: Phone | None = Field(None, description="Phone number in E.164 form (+31612345678).")
    preferred_channel: vocab.Channel = Field(description="`email` or `sms`; needs that contact.")
    language: vocab.Language | None = Field(None, description="Defaults to the family's language.")

    def to_domain(self) -> GuardianDetails:
        return GuardianDetails(**dict(self))


class RegisterFamilyIn(Request):
    pilot: vocab.Pilot = Field(description="The pilot; must be the caller's own.")
    programme: ProgrammeSlug = Field(description="Programme slug, e.g. `pit`.")
    child_first_name: ChildName = Field(description="The child's first name.")
    birth_year: int = Field(description="The child's birth year (aged 2 to 21 this year).")
    school_name: SchoolName | None = Field(None, description="The child's school.")
    language: vocab.Language | None = Field(
        None, description="Family language; default: the pilot's."
    )
    guardians: list[GuardianIn] = Field(min_length=1, max_length=MAX_GUARDIANS)

    def to_command(self, registered_by: str, idempotency_key: str | None) -> RegisterFamily:
        return RegisterFamily(
            **{**dict(self), "guardians": tuple(g.to_domain() for g in self.guardians)},
            registered_by=registered_by,
            idempotency_key=idempotency_key,
        )


class RecordedByIn(Request):
    """Exactly one of: the guardian of this case who decided, or the staff role."""

    guardian_id: GuardianId | None = Field(None, description="A guardian of this case.")
    role: Literal["coach", "coordinator"] | None = Field(None, description="A staff role.")

    @model_validator(mode="after")
    def _exactly_one(self) -> RecordedByIn:
        if (self.guardian_id is None) == (self.role is None):
            raise ValueError("give exactly one of guardian_id and role")
        return self

    def to_domain(self, user: str) -> Recorder:
        if self.role is not None:
            return Recorder(vocab.ActorRole(self.role), user=user)
        return Recorder(vocab.ActorRole.GUARDIAN, guardian_id=self.guardian_id, user=user)


class ConsentIn(Request):
    purpose: vocab.ConsentPurpose
    granted: StrictBool = Field(description="true grants, false withdraws.")
    agency_id: AgencyId | None = Field(
        None, description="Only, and required, for share-with-agency."
    )
    recorded_by: RecordedByIn
    decided_at: AwareDatetime | None = Field(
        None, description="When the decision was made (default: now); later than the last one."
    )

    @field_validator("decided_at")
    @classmethod
    def _plausible(cls, moment: dt.datetime | None) -> dt.datetime | None:
        # far-off years cannot even be converted to UTC; none is a real decision anyway
        if moment is not None and not 2000 <= moment.year <= 2100:
            raise ValueError("must lie between the years 2000 and 2100")
        return moment


class CloseIn(Request):
    reason: vocab.CloseReason


class FamilyLinkIn(Request):
    case_id: CaseId = Field(description="An open case.")
    guardian_id: GuardianId = Field(description="The guardian of the case the link is for.")


# -- responses --


class GuardianOut(Attributes):
    guardian_id: GuardianId
    name: str | None
    email: str | None
    phone: str | None
    preferred_channel: vocab.Channel
    language: vocab.Language


class ConsentOut(BaseModel):
    purpose: vocab.ConsentPurpose
    agency_id: AgencyId | None
    granted: bool
    changed_by: vocab.ActorRole = Field(description="Role of whoever decided.")
    guardian_id: GuardianId | None = Field(description="The guardian who decided, if one did.")
    recorded_by_user: str | None = Field(description="Token subject of who entered it.")
    changed_at: dt.datetime = Field(description="When the decision was made.")
    recorded_at: dt.datetime = Field(description="When intake recorded it.")

    @classmethod
    def of(cls, decision: ConsentDecision) -> ConsentOut:
        who = decision.recorded_by
        return from_attributes(
            cls,
            decision,
            changed_by=who.role,
            guardian_id=who.guardian_id,
            recorded_by_user=who.user,
            changed_at=decision.decided_at,
        )


class CaseSummaryOut(BaseModel):
    case_id: CaseId
    pilot: vocab.Pilot
    programme: str
    status: CaseStatus
    child_first_name: str | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, case: Case) -> CaseSummaryOut:
        return from_attributes(cls, case)


class CaseOut(CaseSummaryOut):
    language: vocab.Language
    birth_year: int | None
    school_name: str | None
    guardians: list[GuardianOut]
    close_reason: vocab.CloseReason | None
    erased: bool = Field(description="The family's details were erased when it closed.")
    consents: list[ConsentOut] = Field(description="The current decision per purpose.")

    @classmethod
    def of(cls, case: Case) -> CaseOut:
        return from_attributes(
            cls,
            case,
            guardians=[GuardianOut.of(g) for g in case.guardians],
            consents=[ConsentOut.of(d) for d in case.current_consents()],
        )

    @classmethod
    def for_family(cls, case: Case, guardian_id: str) -> CaseOut:
        """The case as the guardian holding a family link sees it: the other guardians by
        name, without their e-mail address or phone number."""
        shown = cls.of(case)
        for guardian in shown.guardians:
            if guardian.guardian_id != guardian_id:
                guardian.email = guardian.phone = None
        return shown


class CaseListOut(BaseModel):
    cases: list[CaseSummaryOut]
    limit: int
    offset: int


class ConsentChangeOut(BaseModel):
    changed: bool = Field(description="False when the case already stood so: no event.")
    consent: ConsentOut | None = Field(
        description="The purpose's decision now in force; null if none was ever recorded."
    )


class ConsentsOut(BaseModel):
    current: list[ConsentOut] = Field(description="The latest decision per purpose.")
    history: list[ConsentOut] = Field(description="Every decision, oldest first.")


class AuditEntryOut(BaseModel):
    """One entry of the audit trail: who did what to the case's file, when, through which
    service. No personal data: ids, roles, route templates and codes."""

    entry_id: str
    occurred_at: dt.datetime
    service: str = Field(description="The service that answered the request.")
    actor_subject: str = Field(description="The token's subject, or `link` for the family.")
    actor_role: str = Field(description="The caller's role; `family` for the signed link.")
    actor_pilot: str | None = Field(description="The pilot of the caller's token (`*`: all).")
    action: str = Field(description="read, create, update or delete.")
    method: str
    resource: str = Field(description="The route template, e.g. `/cases/{case_id}/tasks`.")
    status: int = Field(description="The HTTP status of the answer (403: refused).")
    trigger_type: str | None = Field(
        None,
        description="For a change a service made on an event (its erasure after the case "
        "closed): the event's type; the actor is then the service itself.",
    )

    @classmethod
    def of(cls, entry: AccessRecorded) -> AuditEntryOut:
        return from_attributes(cls, entry)


class AuditOut(BaseModel):
    case_id: CaseId
    entries: list[AuditEntryOut]
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; none at the end.")


class FamilyLinkOut(BaseModel):
    """A family link intake issued: who it was for, when, until when; never the token."""

    link_id: str
    case_id: CaseId
    guardian_id: GuardianId
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    state: LinkState = Field(description="active, expired or revoked.")

    @classmethod
    def of(cls, link: FamilyLink, now: dt.datetime) -> FamilyLinkOut:
        return from_attributes(cls, link, state=link.state(now))


class IssuedFamilyLinkOut(BaseModel):
    link_id: str
    token: str = Field(description="The link's token: the web app's `/family?link=<token>`.")
    expires_at: dt.datetime
