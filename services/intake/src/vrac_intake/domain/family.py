"""The child and the guardians, and the rules their details must follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from vrac_contracts.events.sealed import Sealed
from vrac_contracts.values import Channel, Language
from vrac_runtime.values import check_between

from vrac_intake.domain.errors import RuleBroken

# A programme takes children of school age; anything outside is a typing error.
YOUNGEST_AGE = 2
OLDEST_AGE = 21
MAX_GUARDIANS = 6  # as many as the family-registered contract carries


@dataclass(frozen=True)
class GuardianDetails:
    """A guardian as the coach enters them, before the case gives them an id."""

    name: str
    email: str | None
    phone: str | None
    preferred_channel: Channel
    language: Language | None = None


@dataclass(frozen=True)
class Guardian:
    """A parent or carer of the child; name and contacts are ``None`` once erased."""

    guardian_id: str
    name: str | None
    email: str | None
    phone: str | None
    preferred_channel: Channel
    language: Language

    def erased(self) -> Guardian:
        return replace(self, name=None, email=None, phone=None)


@dataclass(frozen=True)
class SealedFamily:
    """The family's personal details as family-registered carries them, sealed by the
    caller (sealing needs the key store): the child's under the case's data key, each
    guardian's under the guardian's own key."""

    child: Sealed
    guardians: Mapping[str, Sealed]  # by guardian id


def check_birth_year(birth_year: int, this_year: int) -> None:
    oldest, youngest = this_year - OLDEST_AGE, this_year - YOUNGEST_AGE
    check_between("birth_year", birth_year, oldest, youngest)


def check_guardians(guardians: tuple[GuardianDetails, ...]) -> None:
    if not guardians:
        raise RuleBroken("guardians", "at least one guardian is needed")
    if len(guardians) > MAX_GUARDIANS:
        raise RuleBroken("guardians", f"at most {MAX_GUARDIANS} guardians")
    for index, guardian in enumerate(guardians):
        _check_reachable(guardian, f"guardians.{index}")


def _check_reachable(guardian: GuardianDetails, where: str) -> None:
    """A guardian can be reached on the channel they prefer."""
    if guardian.email is None and guardian.phone is None:
        raise RuleBroken(f"{where}.email", "an e-mail address or a phone number is needed")
    if guardian.preferred_channel is Channel.EMAIL and guardian.email is None:
        raise RuleBroken(f"{where}.email", "needed when the preferred channel is email")
    if guardian.preferred_channel is Channel.SMS and guardian.phone is None:
        raise RuleBroken(f"{where}.phone", "needed when the preferred channel is sms")
    if guardian.preferred_channel is Channel.WEBHOOK:
        raise RuleBroken(f"{where}.preferred_channel", "a guardian is reached by email or sms")
