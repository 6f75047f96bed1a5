"""What the handler and service tests share: members they add to a case (the youth team, an
agency told through its webhook), and the sealed events that carry people's details, made
from the plain fields of the superseded v1 events (their catalogue examples and overrides)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from vrac_contracts.catalogue import spec_for
from vrac_contracts.envelope import Envelope, new_envelope
from vrac_contracts.events import (
    ChildDetails,
    FamilyRegistered,
    FamilyRegisteredV2,
    GuardianDetails,
    MemberAdded,
    MemberAddedV2,
    MemberDetails,
    MemberEdited,
    Sealed,
)
from vrac_notifications.entrypoints.subscribers import Subscribers
from vrac_notifications.handlers import send_due

Seal = Callable[[str, str, BaseModel], Awaitable[Sealed]]

AGENCY = "agy_youthteam0001"
YOUTH_TEAM: dict[str, Any] = {
    "member_id": "mbr_youthteam0001",
    "kind": "agency",
    "role": "care-provider",
    "display_name": "Jeugdteam Leiden",
    "relationship": None,
    "email": None,
    "channel": "webhook",
    "agency_id": AGENCY,
    "language": "nl",
}

TEACHER: dict[str, Any] = {
    "member_id": "mbr_teacher000001",
    "kind": "professional",
    "role": "teacher",
    "display_name": "Juf Anna",
    "relationship": None,
    "email": "anna@school.example.org",
    "channel": "email",
    "language": "en",
}


# a screening's advice for each audience (findings-recorded's ``advice``)
FAMILY_ADVICE: list[dict[str, str]] = [
    {"code": "memory-for-reading", "audience": "school"},
    {"code": "name-the-feeling", "audience": "parents"},
    {"code": "show-your-strength", "audience": "child"},
]
# two guardians (family-registered's plain ``guardians``), in Dutch and in French
GUARDIANS: list[dict[str, Any]] = [
    {
        "guardian_id": "gdn_fatima000001",
        "name": "Fatima",
        "email": "fatima@example.org",
        "preferred_channel": "email",
        "language": "nl",
    },
    {
        "guardian_id": "gdn_youssef00001",
        "name": "Youssef",
        "email": "youssef@example.org",
        "preferred_channel": "email",
        "language": "fr",
    },
]
# the network's coordinator, a professional who reads English
COORDINATOR: dict[str, Any] = {
    "member_id": "mbr_coordinator01",
    "kind": "professional",
    "role": "spider-in-the-web",
    "display_name": "Coach Noor",
    "relationship": None,
    "email": "noor@pit.example.org",
    "channel": "email",
    "language": "en",
}


async def member_added(seal: Seal, **fields: Any) -> Envelope[MemberAddedV2]:
    """``member-added`` v2 of the member the fields describe, their details sealed."""
    plain = MemberAdded.model_validate({**spec_for(MemberAdded).example, **fields})
    details = MemberDetails.model_validate(plain.model_dump())
    sealed = await seal(plain.case_id, plain.member_id, details)
    data = MemberAddedV2.model_validate(plain.model_dump() | {"details": sealed})
    return new_envelope(data)


async def family_registered(seal: Seal, **fields: Any) -> Envelope[FamilyRegisteredV2]:
    """``family-registered`` v2 of the family the fields describe: the child sealed under the
    case's key, each guardian under their own."""
    plain = FamilyRegistered.model_validate({**spec_for(FamilyRegistered).example, **fields})
    case_id = plain.case_id
    child = await seal(case_id, case_id, ChildDetails.model_validate(plain.model_dump()))
    guardians = [
        guardian.model_dump()
        | {
            "details": await seal(
                case_id, guardian.guardian_id, GuardianDetails.model_validate(guardian.model_dump())
            )
        }
        for guardian in plain.guardians
    ]
    data = plain.model_dump() | {"child": child, "guardians": guardians}
    return new_envelope(FamilyRegisteredV2.model_validate(data))


class Registry:
    """Stands in for the runtime: keeps what the subscribers register, per event model."""

    def __init__(self) -> None:
        self.handlers: dict[type, Any] = {}

    def on(self, event: type, handler: Any) -> None:
        self.handlers[event] = handler


async def handle(world: Any, envelope: Envelope[Any]) -> None:
    """Hand the event to the subscriber the app registers for it, over the world's fakes."""
    registry = Registry()
    Subscribers(world.deps).register(registry)  # type: ignore[arg-type]
    await registry.handlers[type(envelope.data)](envelope)


async def deliver(world: Any, envelope: Envelope[Any]) -> None:
    """Handle the event, then let the scheduler send what became due."""
    await handle(world, envelope)
    await send_due(world.deps)


async def added(world: Any, **fields: Any) -> Envelope[MemberAddedV2]:
    """``member-added`` v2 whose details the world's key owner sealed."""
    return await member_added(world.keys.seal, **fields)


async def edited(world: Any, **fields: Any) -> Envelope[MemberEdited]:
    """``member-edited``: the member as the fields describe them after the coach's change."""
    joined = await added(world, **fields)
    return new_envelope(MemberEdited.model_validate(joined.data.model_dump()))


async def registered(world: Any, **fields: Any) -> Envelope[FamilyRegisteredV2]:
    return await family_registered(world.keys.seal, **fields)
