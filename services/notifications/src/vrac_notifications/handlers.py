"""One function per command or event: update the case file, then send what became due.

Every event of a case ends in ``dispatch``: it plans the messages owed to recipients known
now, skips those with a final delivery, and sends the rest. The delivery id comes from the
triggering event's ``ce_id`` and the recipient, so an event handled twice sends nothing twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from vrac_contracts.values import Channel, DeliveryError, Language, Pilot
from vrac_runtime.consumer import PermanentError
from vrac_runtime.logging import get_logger

from vrac_notifications.domain.casefile import CaseFile, ConsentDecision, Outcome, Planned
from vrac_notifications.domain.contacts import Contact
from vrac_notifications.domain.delivery import Delivery, DeliveryProblem, DeliveryStatus
from vrac_notifications.domain.intents import DiplomaMessage, Intent
from vrac_notifications.domain.templates import Message, render
from vrac_notifications.domain.webhooks import WebhookSubscription, webhook_body
from vrac_notifications.ports import (
    CaseFiles,
    ConcurrentUpdate,
    Deliveries,
    Hook,
    HookPoster,
    Mail,
    Mailer,
    Webhooks,
)

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]
# a case-file write that lost a race reads again and retries this many times
_WRITE_ATTEMPTS = 3
log = get_logger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 0.5


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
    wake: Callable[[], None] = lambda: None
    clock: Clock = utc_now
    sleep: Sleep = asyncio.sleep


class DeliveryFailed(PermanentError):
    """A message could not be delivered after every attempt: dead-letter its trigger."""


# -- the directory --


async def open_case(deps: Deps, case_id: str, pilot: Pilot) -> None:
    await _change(deps, case_id, pilot, lambda case: None)


async def close_case(deps: Deps, case_id: str, pilot: Pilot, closed_at: dt.datetime) -> None:
    await _change(deps, case_id, pilot, lambda case: case.close(closed_at))


async def register_family(
    deps: Deps,
    case_id: str,
    pilot: Pilot,
    child_first_name: str,
    language: Language,
    guardians: Iterable[Contact],
) -> None:
    people = list(guardians)
    await _change(
        deps, case_id, pilot, lambda case: case.register_family(child_first_name, language, people)
    )


async def add_member(deps: Deps, case_id: str, pilot: Pilot, member: Contact) -> None:
    await _change(deps, case_id, pilot, lambda case: case.add_member(member))


async def record_consent(
    deps: Deps, case_id: str, pilot: Pilot, key: str, decision: ConsentDecision
) -> None:
    await _change(deps, case_id, pilot, lambda case: case.change_consent(key, decision))


# -- the messages --


async def expect_message(deps: Deps, case_id: str, pilot: Pilot, intent: Intent) -> None:
    """An event made a message due (a task, a reminder, a diploma, advice for school)."""
    await _change(deps, case_id, pilot, lambda case: case.expect(intent), intent.trigger_id)


async def _change(
    deps: Deps,
    case_id: str,
    pilot: Pilot,
    change: Callable[[CaseFile], bool | None],
    trigger_id: str | None = None,
) -> None:
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        case = await deps.case_files.get(case_id) or CaseFile(case_id=case_id, pilot=pilot)
        if change(case) is False:
            break  # nothing new: a redelivery, or an older consent decision
        try:
            await deps.case_files.save(case)
            break
        except ConcurrentUpdate:
            if attempt == _WRITE_ATTEMPTS:
                raise
    # Also after "nothing new": a redelivered event finishes what a crash interrupted.
    await dispatch(deps, case, trigger_id)


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
    try:
        for item in planned:
            status = known.get(item.delivery_id)
            if _releasable(item, status):
                resume = await deps.deliveries.release(
                    Delivery.of(item, case_id=case.case_id, pilot=case.pilot, now=deps.clock())
                )
            elif status is None or not status.final:
                resume = status is DeliveryStatus.SENDING
            else:
                continue
            delivered = await _deliver(deps, case, item, resume=resume)
            if not delivered and item.intent.trigger_id == trigger_id:
                failed.append(item.delivery_id)
    finally:
        deps.wake()
    if failed:
        raise DeliveryFailed(f"undeliverable: {', '.join(failed)}")


def _releasable(item: Planned, status: DeliveryStatus | None) -> bool:
    return (
        status is DeliveryStatus.WITHHELD
        and item.outcome is Outcome.SEND
        and item.consent_was_in_force
    )


async def _deliver(deps: Deps, case: CaseFile, item: Planned, *, resume: bool) -> bool:
    """Send one planned message; False when it failed for good after being tried."""
    delivery = Delivery.of(item, case_id=case.case_id, pilot=case.pilot, now=deps.clock())
    if item.outcome is not Outcome.SEND:
        await deps.deliveries.record(delivery, [delivery.refusal()])
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
        event = delivery.fail(DeliveryError.NO_CONTACT_DETAILS, 1, deps.clock())
        await deps.deliveries.finish(delivery, [event])
        return True
    attempts, problem = await _with_retries(deps, send)
    if problem is None:
        await deps.deliveries.finish(delivery, [delivery.succeed(attempts, deps.clock())])
        log.info("message delivered", delivery_id=delivery.delivery_id, attempts=attempts)
        return True
    await deps.deliveries.finish(delivery, [delivery.fail(problem.code, attempts, deps.clock())])
    log.warning("message failed", delivery_id=delivery.delivery_id, error=str(problem.code))
    return False


def _diploma_url(deps: Deps, intent: Intent) -> str:
    return deps.diploma_link(intent.diploma_id) if isinstance(intent, DiplomaMessage) else ""


async def _sender(
    deps: Deps, case: CaseFile, item: Planned, message: Message
) -> Callable[[], Awaitable[None]] | None:
    """The call that sends the message on its channel; None when there is no address."""
    contact = item.contact
    if item.channel is Channel.WEBHOOK:
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
    deps: Deps, agency_id: str | None, pilot: Pilot
) -> WebhookSubscription | None:
    if agency_id is None:
        return None
    subscription = await deps.webhooks.get(agency_id)
    return subscription if subscription is not None and subscription.serves(pilot) else None


async def _with_retries(
    deps: Deps, send: Callable[[], Awaitable[None]]
) -> tuple[int, DeliveryProblem | None]:
    delay = deps.retry.backoff_seconds
    for attempt in range(1, deps.retry.attempts + 1):
        try:
            await send()
            return attempt, None
        except DeliveryProblem as problem:
            if not problem.retryable or attempt == deps.retry.attempts:
                return attempt, problem
        await deps.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable: the loop always returns")  # pragma: no cover


# -- the HTTP side --


async def register_webhook(
    deps: Deps, agency_id: str, pilot: Pilot, url: str, secret: str
) -> WebhookSubscription:
    subscription = WebhookSubscription(
        agency_id=agency_id, pilot=pilot, url=url, secret=secret, updated_at=deps.clock()
    )
    await deps.webhooks.put(subscription)
    return subscription


async def deliveries_of(deps: Deps, case_id: str) -> tuple[Pilot, list[Delivery]] | None:
    """The pilot of a case and its deliveries, newest last; None when the case is unknown."""
    case = await deps.case_files.get(case_id)
    if case is None:
        return None
    deliveries = await deps.deliveries.for_case(case_id)
    return case.pilot, sorted(deliveries, key=lambda d: (d.created_at, d.delivery_id))
