"""HTTP routes, thin: check who asks, map the body to a command, call a handler, shape
the answer. Refusals are domain errors; the runtime maps them to HTTP statuses."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, Field, field_validator
from vrac_contracts.values import Channel, DeliveryError, Pilot
from vrac_runtime.audit import CaseRef, audited
from vrac_runtime.auth import ALL_PILOTS, Principal, requires
from vrac_runtime.http import deps_of

from vrac_notifications import handlers
from vrac_notifications.domain.commands import RegisterWebhook
from vrac_notifications.domain.contacts import RecipientKind
from vrac_notifications.domain.delivery import Delivery, DeliveryStatus
from vrac_notifications.domain.errors import PilotRequired
from vrac_notifications.domain.intents import MessageKind
from vrac_notifications.domain.webhooks import WebhookSubscription
from vrac_notifications.handlers import Deps

CaseIdPath = Annotated[str, Path(pattern=r"^case_[0-9A-Za-z]{8,40}$", description="Case id.")]
AgencyIdPath = Annotated[str, Path(pattern=r"^agy_[0-9A-Za-z]{8,40}$", description="Agency id.")]

deps = deps_of(Deps)
# the key sizes Standard Webhooks asks of a secret
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64


async def _locate(request: Request, params: Mapping[str, str]) -> CaseRef | None:
    """The case a route names, for the audit trail (``vrac_runtime.audit``)."""
    case = await deps(request).case_files.get(params["case_id"]) if "case_id" in params else None
    return None if case is None else CaseRef(case.case_id, case.pilot)


router = APIRouter(dependencies=[audited(_locate)])

# what routes take: the handlers' Deps and the caller, checked for the route's roles; the
# handlers get ``who.ensure_pilot``, which refuses (403) a case or webhook of another pilot
D = Annotated[Deps, Depends(deps)]
Coach = Annotated[Principal, Depends(requires("coach"))]
Agency = Annotated[Principal, Depends(requires("agency"))]


# -- deliveries --


class DeliveryOut(BaseModel):
    delivery_id: str = Field(description="Notification id: one per triggering event and recipient.")
    recipient_id: str = Field(description="The guardian (gdn_) or network member (mbr_).")
    recipient_kind: RecipientKind
    channel: Channel = Field(description="The channel the message went (or would go) through.")
    kind: MessageKind = Field(description="What the message was about.")
    trigger_event_id: str = Field(description="`ce_id` of the event that caused the message.")
    trigger_type: str = Field(description="CloudEvents type of that event.")
    status: DeliveryStatus
    attempts: int
    error_code: DeliveryError | None
    created_at: dt.datetime
    updated_at: dt.datetime
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime | None = Field(
        description="When the next attempt is due; null unless `scheduled`."
    )

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls.model_validate(delivery, from_attributes=True)


class CaseDeliveries(BaseModel):
    case_id: str
    pilot: Pilot
    deliveries: list[DeliveryOut]


@router.get(
    "/cases/{case_id}/deliveries",
    tags=["deliveries"],
    summary="Every message of a case: to whom, on which channel, and what became of it",
)
async def case_deliveries(case_id: CaseIdPath, who: Coach, d: D) -> CaseDeliveries:
    pilot, deliveries = await handlers.list_deliveries(d, case_id, who.ensure_pilot)
    return CaseDeliveries(
        case_id=case_id, pilot=pilot, deliveries=[DeliveryOut.of(d) for d in deliveries]
    )


# -- agency webhooks --


class WebhookIn(BaseModel):
    url: str = Field(
        max_length=2000,
        pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="Endpoint that takes the POSTs: https, and a host whose every address is "
        "public (plain http and loopback only in a development deployment).",
    )
    secret: str = Field(
        max_length=100,
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
        description="Standard Webhooks secret: `whsec_` + base64 of 24 to 64 random bytes. "
        "A new one replaces the current secret, which keeps signing beside it for the "
        "overlap. Never returned.",
    )
    pilot: Pilot | None = Field(
        None, description="Pilot the agency works for; defaults to the token's pilot."
    )

    @field_validator("secret")
    @classmethod
    def _key_length(cls, secret: str) -> str:
        try:
            key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            raise ValueError("must be whsec_ followed by base64") from None
        if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
            raise ValueError(f"must hold {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes of key")
        return secret


class SigningSecretOut(BaseModel):
    added_at: dt.datetime
    retires_at: dt.datetime | None = Field(
        description="null for the current secret; else when it stops signing."
    )


class WebhookOut(BaseModel):
    agency_id: str
    pilot: Pilot
    url: str
    updated_at: dt.datetime
    signing_secrets: list[SigningSecretOut] = Field(
        description="The secrets deliveries are signed with now, newest first (never the "
        "secrets themselves): each delivery carries one signature per entry."
    )

    @classmethod
    def of(cls, subscription: WebhookSubscription, now: dt.datetime) -> WebhookOut:
        return cls(
            agency_id=subscription.agency_id,
            pilot=subscription.pilot,
            url=subscription.url,
            updated_at=subscription.updated_at,
            signing_secrets=[
                SigningSecretOut(added_at=s.added_at, retires_at=s.retires_at)
                for s in subscription.secrets
                if s.valid_at(now)
            ],
        )


def _ensure_agency(who: Principal, agency_id: str) -> None:
    """An agency speaks only for itself: its token's subject is its agency id."""
    if who.role == "agency" and who.subject != agency_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "an agency may only manage its own webhook")


def _pilot_for(who: Principal, requested: Pilot | None) -> Pilot:
    if requested is None:
        if who.pilot == ALL_PILOTS:
            raise PilotRequired()
        try:
            return Pilot(who.pilot)
        except ValueError:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "token of an unknown pilot") from None
    who.ensure_pilot(requested)
    return requested


@router.put(
    "/agencies/{agency_id}/webhook",
    tags=["agencies"],
    summary="Register or replace an agency's webhook endpoint and secret",
)
async def put_webhook(agency_id: AgencyIdPath, body: WebhookIn, who: Agency, d: D) -> WebhookOut:
    _ensure_agency(who, agency_id)
    command = RegisterWebhook(agency_id, _pilot_for(who, body.pilot), body.url, body.secret)
    return WebhookOut.of(await handlers.register_webhook(d, command, who.ensure_pilot), d.clock())


@router.get(
    "/agencies/{agency_id}/webhook",
    tags=["agencies"],
    summary="An agency's registered webhook (never its secret)",
)
async def get_webhook(agency_id: AgencyIdPath, who: Agency, d: D) -> WebhookOut:
    _ensure_agency(who, agency_id)
    return WebhookOut.of(await handlers.get_webhook(d, agency_id, who.ensure_pilot), d.clock())
