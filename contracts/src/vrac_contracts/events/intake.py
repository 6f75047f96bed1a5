"""Events published by the intake service."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ..fields import described, personal, personal_email, personal_phone
from ..ids import AgencyId, GuardianId
from ..values import ActorRole, Channel, CloseReason, ConsentPurpose, Language
from .base import EventData
from .sealed import Sealed

ProgrammeSlug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]


class CaseOpened(EventData):
    """A child and family entered a programme of a pilot."""

    programme: ProgrammeSlug = described(
        "Slug of the pilot's programme the case is in, e.g. `pit` (kebab-case, at most 60)."
    )
    opened_at: AwareDatetime = described("When the case was opened.")


class CaseClosed(EventData):
    """The case was closed; no further work happens on it."""

    reason: CloseReason = described("Why the case was closed.")


class _ConsentDecision(EventData):
    purpose: ConsentPurpose = described("The purpose the consent is for.")
    granted: bool = described("True when consent is now given, false when withdrawn.")
    changed_by: ActorRole = described("Role of whoever recorded the change.")
    changed_at: AwareDatetime = described("When the consent decision was made.")


class ConsentChanged(_ConsentDecision):
    """The parents granted or withdrew consent for one purpose (v1: names the agency)."""

    agency_id: AgencyId | None = described(
        "The agency the consent is about; only for `share-with-agency`.", default=None
    )


class ConsentChangedV2(_ConsentDecision):
    """The parents granted or withdrew consent for one purpose; which agency is not said."""


class ConsentRecorded(_ConsentDecision):
    """A consent decision with the agency it is about (internal: which agencies a family
    trusts is a fact about the family)."""

    agency_id: AgencyId | None = described(
        "The agency the consent is about; only for `share-with-agency`.", default=None
    )


class Guardian(BaseModel):
    """A parent or carer of the child and how to reach them."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    guardian_id: GuardianId = described("Pseudonymous id of the guardian.")
    name: str = personal("Name as the guardian wants to be addressed.", max_length=120)
    email: str | None = personal_email()
    phone: str | None = personal_phone("Phone number in E.164 form, e.g. +31612345678.")
    preferred_channel: Channel = described("The channel the guardian wants to hear from us on.")
    language: Language = described("The language the guardian wants to be addressed in.")


class FamilyRegistered(EventData):
    """Intake registered the family's details (internal: holds personal data)."""

    child_first_name: str = personal("The child's first name.", max_length=80)
    birth_year: int = personal("The child's year of birth.", ge=2000, le=2100)
    language: Language = described("The family's language: diplomas and advice use it.")
    school_name: str | None = personal("Name of the child's school.", default=None, max_length=160)
    programme: ProgrammeSlug = described("Slug of the programme the case is in.")
    guardians: list[Guardian] = described(
        "The child's guardians and their contact channels.", min_length=1, max_length=6
    )


class SealedGuardian(BaseModel):
    """A guardian: how to reach them is sealed with the guardian's own data key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    guardian_id: GuardianId = described("Pseudonymous id of the guardian; also its key id.")
    preferred_channel: Channel = described("The channel the guardian wants to hear from us on.")
    language: Language = described("The language the guardian wants to be addressed in.")
    details: Sealed = described("Name, e-mail and phone (`GuardianDetails`), sealed.")


class FamilyRegisteredV2(EventData):
    """Intake registered the family's details; the personal ones travel sealed."""

    language: Language = described("The family's language: diplomas and advice use it.")
    programme: ProgrammeSlug = described("Slug of the programme the case is in.")
    child: Sealed = described(
        "The child's first name, birth year and school (`ChildDetails`), sealed with the "
        "case's data key."
    )
    guardians: list[SealedGuardian] = described(
        "The child's guardians and their contact channels.", min_length=1, max_length=6
    )


class GuardianRemoved(EventData):
    """A guardian left the family's record; their details are erased and their key destroyed."""

    guardian_id: GuardianId = described("The guardian who was removed.")
