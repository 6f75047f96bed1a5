"""One function per command or event: update the case file, then send what became due.

Every event of a case ends in ``dispatch``: it plans the messages owed to recipients known
now, skips those with a final delivery, and sends the rest. The delivery id comes from the
triggering event's ``ce_id`` and the recipient, so an event handled twice sends nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from vrac_contracts import events
from vrac_contracts import values as vocab
from vrac_contracts.consent import consent_decision
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import Guardian
from vrac_runtime.consumer import PermanentError
from vrac_runtime.logging import get_logger
from vrac_runtime.retry import retried, with_retries
from vrac_runtime.values import Clock, utc_now

from vrac_notifications.domain.casefile import CaseFile, Outcome, Planned
from vrac_notifications.domain.commands import RegisterWebhook
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import Delivery, DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.errors import (
    ChangedMeanwhile,
    InsecureWebhook,
    NoWebhook,
    UnknownCase,
)
from vrac_notifications.domain.intents import (
    DiplomaMessage,
    Intent,
    MessageKind,
    SchoolAdviceMessage,
    TaskMessage,
)
from vrac_notifications.domain.templates import Message, render
from vrac_notifications.domain.webhooks import WebhookSubscription, webhook_body
from vrac_notifications.ports import (
    CaseFiles,
    Deliveries,
    Hook,
    HookPoster,
    Mail,
    Mailer,
    Webhooks,
)

Sleep = Callable[[float], Awaitable[None]]
Authorize = Callable[[vocab.Pilot], None]  # refuses a pilot the caller may not touch
Send = Callable[[], Awaitable[None]]
# a case-file write that lost a race reads again and retries, at most this many times in all
_WRITE_ATTEMPTS = 3
log = get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 0.5  # before the second attempt; doubles each time


@dataclass
class Deps:
    """Everything the handlers use; built once by the composition root."""

    case_files: CaseFiles
    deliveries: Deliveries
    webhooks: Webhooks
    mailer: Mailer
    poster: HookPoster
    diploma_link: Callable[[str], str]  # a diploma's URL the family can open
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    require_https_webhooks: bool = False
    clock: Clock = utc_now
    sleep: Sleep = asyncio.sleep  # between retries; tests wait for nothing


@dataclass(frozen=True)
class Trigger:
    """The event that makes a message due: its ``ce_id`` and CloudEvents type."""

    event_id: str
    event_type: str


class DeliveryFailed(PermanentError):
    """A message could not be delivered after every attempt: dead-letter its trigger."""


# -- the directory --


async def open_case(deps: Deps, event: events.CaseOpened) -> None:
    await _change(deps, event, lambda case: None)


async def close_case(deps: Deps, event: events.CaseClosed) -> None:
    await _change(deps, event, lambda case: case.close(event.occurred_at))


async def register_family(deps: Deps, event: events.FamilyRegistered) -> None:
    guardians = [_guardian(g) for g in event.guardians]
    await _change(
        deps,
        event,
        lambda case: case.register_family(event.child_first_name, event.language, guardians),
    )


async def add_member(deps: Deps, event: events.MemberAdded) -> None:
    member = _member(event)
    await _change(deps, event, lambda case: case.add_member(member))


async def record_consent(deps: Deps, event: events.ConsentChanged) -> None:
    if event.purpose is vocab.ConsentPurpose.SHARE_WITH_AGENCY and event.agency_id is None:
        # names no agency, so there is nothing it could allow: never filed, never granted
        await _change(deps, event, lambda case: False)
        return
    key, decision = consent_decision(event)
    await _change(deps, event, lambda case: case.change_consent(key, decision))


def _guardian(guardian: Guardian) -> Contact:
    return Contact(
        recipient_id=guardian.guardian_id,
        recipient_kind=RecipientKind.GUARDIAN,
        name=guardian.name,
        language=guardian.language,
        channel=guardian.preferred_channel,
        email=guardian.email,
        phone=guardian.phone,
    )


def _member(event: events.MemberAdded) -> Contact:
    return Contact(
        recipient_id=event.member_id,
        recipient_kind=RecipientKind.MEMBER,
        name=event.display_name,
        language=event.language,
        channel=event.channel,
        email=event.email,
        phone=event.phone,
        member_kind=event.kind,
        role=event.role,
        agency_id=event.agency_id,
    )


# -- the messages --


async def tell_assignee(deps: Deps, event: events.TaskAssigned, trigger: Trigger) -> None:
    """Tell the member a task was assigned to them."""
    intent = _task(MessageKind.TASK_ASSIGNED, event, trigger, event.category)
    await _expect(deps, event, intent)


async def remind_assignee(deps: Deps, event: events.TaskOverdue, trigger: Trigger) -> None:
    """Remind the member of an overdue task (its category comes from the assignment)."""
    await _expect(deps, event, _task(MessageKind.TASK_OVERDUE, event, trigger, None))


async def announce_diploma(deps: Deps, event: events.DiplomaIssued, trigger: Trigger) -> None:
    """Tell the guardians the child's diploma is ready."""
    intent = DiplomaMessage(
        trigger_id=trigger.event_id,
        trigger_type=trigger.event_type,
        occurred_at=event.occurred_at,
        diploma_id=event.diploma_id,
    )
    await _expect(deps, event, intent)


async def advise_school(deps: Deps, event: events.ScreeningCompleted, trigger: Trigger) -> None:
    """Give the school the screening's advice for school, if it has any."""
    codes = tuple(str(a.code) for a in event.advice if a.audience is vocab.AdviceAudience.SCHOOL)
    if not codes:
        return  # nothing for school in this screening
    intent = SchoolAdviceMessage(
        trigger_id=trigger.event_id,
        trigger_type=trigger.event_type,
        occurred_at=event.occurred_at,
        screening_id=event.screening_id,
        advice_codes=codes,
    )
    await _expect(deps, event, intent)


def _task(
    kind: Literal[MessageKind.TASK_ASSIGNED, MessageKind.TASK_OVERDUE],
    event: events.TaskAssigned | events.TaskOverdue,
    trigger: Trigger,
    category: vocab.TaskCategory | None,
) -> TaskMessage:
    return TaskMessage(
        kind=kind,
        trigger_id=trigger.event_id,
        trigger_type=trigger.event_type,
        occurred_at=event.occurred_at,
        task_id=event.task_id,
        member_id=event.assignee_id,
        category=category,
        due_date=event.due_date,
    )


async def _expect(deps: Deps, event: EventData, intent: Intent) -> None:
    """An event made a message due; only its own failures dead-letter it."""
    await _change(deps, event, lambda case: case.expect(intent), intent.trigger_id)


async def _change(
    deps: Deps,
    event: EventData,
    change: Callable[[CaseFile], bool | None],
    trigger_id: str | None = None,
) -> None:
    """Apply ``change`` to the event's case file, reading again when a write lost a race."""
    case = await retried(
        lambda: _apply(deps, event, change),
        attempts=_WRITE_ATTEMPTS,
        first_wait=0,
        retry_if=lambda error: isinstance(error, ChangedMeanwhile),
        sleep=deps.sleep,
    )
    # Also after "nothing new": a redelivered event finishes what a crash interrupted.
    await dispatch(deps, case, trigger_id)


async def _apply(
    deps: Deps, event: EventData, change: Callable[[CaseFile], bool | None]
) -> CaseFile:
    case = await deps.case_files.get(event.case_id)
    case = case or CaseFile(case_id=event.case_id, pilot=event.pilot)
    if change(case) is not False:  # False: nothing new (a redelivery, an older decision)
        await deps.case_files.save(case)
    return case


async def dispatch(deps: Deps, case: CaseFile, trigger_id: str | None = None) -> None:
    """Send what is owed; raise DeliveryFailed when a message of ``trigger_id`` failed.

    Only the event that made a message due is dead-lettered for it: a member-added or
    consent-changed that released a waiting message was itself handled fine, and the failure
    is on record (delivery ``failed``, ``notification-failed`` published) either way.
    """
    planned = case.plan()
    if not planned:
        return
    known = await deps.deliveries.statuses(case.case_id)
    failed: list[str] = []
    for item in planned:
        status = known.get(item.delivery_id)
        if _releasable(item, status):
            resume = await deps.deliveries.release(_delivery(deps, case, item))
        elif status is None or not status.final:
            resume = status is DeliveryStatus.SENDING
        else:
            continue
        delivered = await _deliver(deps, case, item, resume=resume)
        if not delivered and item.intent.trigger_id == trigger_id:
            failed.append(item.delivery_id)
    if failed:
        raise DeliveryFailed(f"undeliverable: {', '.join(failed)}")


def _releasable(item: Planned, status: DeliveryStatus | None) -> bool:
    return (
        status is DeliveryStatus.WITHHELD
        and item.outcome is Outcome.SEND
        and item.consent_was_in_force
    )


def _delivery(deps: Deps, case: CaseFile, item: Planned) -> Delivery:
    return Delivery.of(item, case_id=case.case_id, pilot=case.pilot, now=deps.clock())


async def _deliver(deps: Deps, case: CaseFile, item: Planned, *, resume: bool) -> bool:
    """Send one planned message; False when it failed for good after being tried."""
    delivery = _delivery(deps, case, item)
    if item.outcome is not Outcome.SEND:
        delivery.refuse()
        await deps.deliveries.record(delivery)
        log.info("message not sent", delivery_id=delivery.delivery_id, reason=item.outcome)
        return True
    if not resume and not await deps.deliveries.claim(delivery):
        return True  # another handler has it
    message = render(
        item.intent,
        item.contact,
        case_id=case.case_id,
        child_first_name=case.child_first_name,
        diploma_url=_diploma_url(deps, item.intent),
    )
    send = await _sender(deps, case, item, message)
    if send is None:
        delivery.fail(vocab.DeliveryError.NO_CONTACT_DETAILS, 1, deps.clock())
        await deps.deliveries.finish(delivery)
        return True
    attempts, problem = await _send_with_retries(deps, send)
    if problem is None:
        delivery.succeed(attempts, deps.clock())
        await deps.deliveries.finish(delivery)
        log.info("message delivered", delivery_id=delivery.delivery_id, attempts=attempts)
        return True
    delivery.fail(problem.code, attempts, deps.clock())
    await deps.deliveries.finish(delivery)
    log.warning("message failed", delivery_id=delivery.delivery_id, error=str(problem.code))
    return False


def _diploma_url(deps: Deps, intent: Intent) -> str:
    return deps.diploma_link(intent.diploma_id) if isinstance(intent, DiplomaMessage) else ""


async def _sender(deps: Deps, case: CaseFile, item: Planned, message: Message) -> Send | None:
    """The call that sends the message on its channel; None when there is no address."""
    contact = item.contact
    if item.channel is vocab.Channel.WEBHOOK:
        subscription = await _subscription(deps, contact.agency_id, case.pilot)
        if subscription is None:
            return None
        body = webhook_body(
            notification_id=item.delivery_id,
            case_id=case.case_id,
            pilot=case.pilot,
            agency_id=subscription.agency_id,
            recipient_id=contact.recipient_id,
            intent=item.intent,
            message=message,
            sent_at=deps.clock(),
            diploma_url=_diploma_url(deps, item.intent),
        )
        hook = Hook(
            item.delivery_id, str(item.intent.kind), subscription.url, subscription.secret, body
        )
        return lambda: deps.poster.post(hook)
    if not contact.email:
        return None
    mail = Mail(
        item.delivery_id,
        contact.email,
        contact.name,
        message.subject,
        message.text,
        message.language,
    )
    return lambda: deps.mailer.send(mail)


async def _subscription(
    deps: Deps, agency_id: str | None, pilot: vocab.Pilot
) -> WebhookSubscription | None:
    if agency_id is None:
        return None
    subscription = await deps.webhooks.get(agency_id)
    return subscription if subscription is not None and subscription.serves(pilot) else None


def _worth_retrying(error: Exception) -> bool:
    return isinstance(error, DeliveryProblem) and error.retryable


async def _send_with_retries(deps: Deps, send: Send) -> tuple[int, DeliveryProblem | None]:
    """Try the channel with exponential backoff: the attempts made, and the problem that
    ended them (None when it went out). Anything but a DeliveryProblem propagates."""
    ended = await with_retries(
        send,
        attempts=deps.retry.attempts,
        first_wait=deps.retry.backoff_seconds,
        retry_if=_worth_retrying,
        sleep=deps.sleep,
    )
    if ended.error is None or isinstance(ended.error, DeliveryProblem):
        return ended.count, ended.error
    raise ended.error


# -- the HTTP side --


async def register_webhook(
    deps: Deps, command: RegisterWebhook, authorize: Authorize
) -> WebhookSubscription:
    """Register or replace an agency's endpoint; a webhook of another pilot stays its own."""
    if deps.require_https_webhooks and not command.url.startswith("https://"):
        raise InsecureWebhook()
    existing = await deps.webhooks.get(command.agency_id)
    if existing is not None:
        authorize(existing.pilot)
    subscription = WebhookSubscription(
        agency_id=command.agency_id,
        pilot=command.pilot,
        url=command.url,
        secret=command.secret,
        updated_at=deps.clock(),
    )
    await deps.webhooks.put(subscription)
    return subscription


async def get_webhook(deps: Deps, agency_id: str, authorize: Authorize) -> WebhookSubscription:
    subscription = await deps.webhooks.get(agency_id)
    if subscription is None:
        raise NoWebhook(agency_id)
    authorize(subscription.pilot)
    return subscription


async def list_deliveries(
    deps: Deps, case_id: str, authorize: Authorize
) -> tuple[vocab.Pilot, list[Delivery]]:
    """The pilot of a case and its deliveries, oldest first."""
    case = await deps.case_files.get(case_id)
    if case is None:
        raise UnknownCase(case_id)
    authorize(case.pilot)
    deliveries = await deps.deliveries.for_case(case_id)
    return case.pilot, sorted(deliveries, key=lambda d: (d.created_at, d.delivery_id))
