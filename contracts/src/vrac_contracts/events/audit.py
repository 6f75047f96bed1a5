"""The audit trail's entries: who read or changed a case's personal data, through which service.

Every service that serves a case's personal data records one entry per request it answered
(and per refusal of a known caller), on its own internal topic, and intake keeps them. One
topic per recording service, not one shared topic: a service's Kafka user may write only its
own topics, so no service can write an entry in another service's name.

An entry holds no personal data: ids, coded values and the route template (never the
concrete path, never a body, a name, an address or free text). ``actor_subject`` is the
account id of the token (a staff account or an agency id), or ``link`` for the family's
signed link.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..fields import described
from .base import EventData

AuditAction = Literal["read", "create", "update", "delete"]
AuditEntryId = Annotated[str, Field(pattern=r"^aud_[0-9a-f]{32}$", max_length=36)]
Slug = Annotated[str, Field(pattern=r"^[a-z]+(-[a-z]+)*$", max_length=40)]
RouteTemplate = Annotated[str, Field(pattern=r"^/[A-Za-z0-9_/{}.-]*$", max_length=200)]
Subject = Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._:-]{0,127}$", max_length=128)]


class AccessRecorded(EventData):
    """Someone read or changed a case's personal data through a service's API.

    ``pilot`` is the case's pilot; ``actor_pilot`` the pilot the caller's token is scoped to.
    """

    entry_id: AuditEntryId = described(
        "Unique id of the entry, minted once when it was recorded; a redelivery keeps it."
    )
    service: Slug = described("The service that answered the request.")
    actor_subject: Subject = described(
        "Who: the token's subject (an account or agency id), or `link` for the family's "
        "signed link."
    )
    actor_role: Slug = described("The caller's role; `family` for the signed link.")
    actor_pilot: str | None = described(
        "The pilot the caller's token is scoped to (`*` for all pilots); none for a link.",
        default=None,
        max_length=40,
        pattern=r"^(\*|[a-z]+(-[a-z]+)*)$",
    )
    action: AuditAction = described("What was done to the resource.")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = described(
        "The request's HTTP method."
    )
    resource: RouteTemplate = described(
        "The route template, e.g. `/cases/{case_id}/tasks`: never the concrete path."
    )
    status: int = Field(description="The HTTP status of the answer.", ge=100, le=599)
    trigger_type: str | None = described(
        "For a change a service made on an event rather than a request (an erasure after "
        "`case-closed`): that event's CloudEvents type. The actor is then the service itself "
        "(role `service`), and method and resource name what was changed as the API would.",
        default=None,
        max_length=100,
        pattern=r"^org\.vrac\.[a-z]+(-[a-z]+)*\.[a-z]+(-[a-z]+)*\.v[1-9][0-9]*$",
    )


# one model per recording service, so the catalogue maps each to its own topic
class IntakeAccessRecorded(AccessRecorded):
    """An access to a case's data through intake."""


class ScreeningAccessRecorded(AccessRecorded):
    """An access to a case's data through screening."""


class NetworkAccessRecorded(AccessRecorded):
    """An access to a case's data through network."""


class NotificationsAccessRecorded(AccessRecorded):
    """An access to a case's data through notifications."""


ACCESS_RECORDED: dict[str, type[AccessRecorded]] = {
    "intake": IntakeAccessRecorded,
    "screening": ScreeningAccessRecorded,
    "network": NetworkAccessRecorded,
    "notifications": NotificationsAccessRecorded,
}
"""The entry model each recording service publishes (reporting serves no case's data)."""
