"""Pseudonymous identifiers.

Every id on the wire is an opaque string ``<prefix>_<8-40 letters or digits>``, for example
``case_3f9c0d2e8b7a4c1d9e6f5a4b3c2d1e0f``. The prefix tells the kind of thing it names; the
rest carries no meaning (no names, dates or sequence numbers), so ids are safe on public
topics. ``new_id`` mints a random one; ``derived_id`` makes a deterministic one from other ids,
which lets a consumer that runs twice produce the same effect (the diploma of a screening).

CloudEvents ``ce_id`` values are different: they are UUID strings minted by the codec.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from pydantic import Field

ID_PATTERN: Final = r"^[a-z]{2,4}_[0-9A-Za-z]{8,40}$"

# prefix for each kind of id; ``new_id`` refuses any other prefix
PREFIXES: Final[dict[str, str]] = {
    "case": "case",
    "guardian": "gdn",
    "member": "mbr",
    "agency": "agy",
    "task": "task",
    "screening": "scr",
    "diploma": "dip",
    "questionnaire": "qnr",
    "notification": "ntf",
}

_DERIVED_NAMESPACE: Final = uuid.UUID("5b0f6d1e-2c7a-4f35-9a7e-0c2d8e4b6a19")


def _id_type(prefix: str) -> Any:
    return Field(pattern=rf"^{prefix}_[0-9A-Za-z]{{8,40}}$", max_length=len(prefix) + 41)


CaseId = Annotated[str, _id_type("case")]
GuardianId = Annotated[str, _id_type("gdn")]
MemberId = Annotated[str, _id_type("mbr")]
AgencyId = Annotated[str, _id_type("agy")]
TaskId = Annotated[str, _id_type("task")]
ScreeningId = Annotated[str, _id_type("scr")]
DiplomaId = Annotated[str, _id_type("dip")]
QuestionnaireId = Annotated[str, _id_type("qnr")]
NotificationId = Annotated[str, _id_type("ntf")]
# who a notification went to: a guardian, a network member or an agency
RecipientId = Annotated[str, Field(pattern=r"^(gdn|mbr|agy)_[0-9A-Za-z]{8,40}$", max_length=44)]
# a CloudEvents id as minted by ``new_envelope`` (or by a partner's SDK)
EventId = Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$", max_length=128)]


def _prefix(kind: str) -> str:
    if kind in PREFIXES:
        return PREFIXES[kind]
    if kind in PREFIXES.values():
        return kind
    raise ValueError(f"unknown id kind {kind!r}; known: {', '.join(PREFIXES)}")


def new_id(kind: str) -> str:
    """A fresh random id, e.g. ``new_id("case")`` -> ``case_<32 hex digits>``."""
    return f"{_prefix(kind)}_{uuid.uuid4().hex}"


def derived_id(kind: str, *parts: str) -> str:
    """A deterministic id for ``kind`` made from ``parts`` (same parts, same id)."""
    if not parts:
        raise ValueError("derived_id needs at least one part")
    digest = uuid.uuid5(_DERIVED_NAMESPACE, "\x1f".join((kind, *parts)))
    return f"{_prefix(kind)}_{digest.hex}"
