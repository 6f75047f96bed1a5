"""One function per command or event: update the case file, then schedule what became due.

Every event of a case ends in ``dispatch``: it plans the messages owed to recipients known
now, stores each new one as a scheduled delivery (or withheld, or failed for want of an
address), cancels the scheduled ones that may no longer go, and wakes the scheduler. An
event that makes a message owed for the first time stores only that message's deliveries,
without reading the case's others (none of its own can exist yet). The
delivery id comes from the triggering event's ``ce_id`` and the recipient, so an event handled
twice schedules nothing twice. ``attempt_delivery`` makes one attempt under a claim; the
service's scheduler calls it for every delivery that is due.

A message's first send is held for ``Deps.hold`` after it became due: topics are not ordered
against each other, so a withdrawal may be read just after the event it should stop, and the
hold gives it that long to cancel the message. Names and addresses reach the service sealed;
a sealed value whose key was destroyed (the case erased, the person removed) stores nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from vrac_contracts import events
from vrac_contracts import values as vocab
from vrac_contracts.consent import consent_decision
from vrac_contracts.events.base import EventData
from vrac_contracts.events.intake import SealedGuardian
from vrac_contracts.events.sealed import ChildDetails, GuardianDetails, MemberDetails, Sealed
from vrac_runtime.consumer import PermanentError
from vrac_runtime.logging import get_logger
from vrac_runtime.retry import retried
from vrac_runtime.sealing import SealBroken
from vrac_runtime.values import Clock, utc_now

from vrac_notifications.domain.casefile import CaseFile, Outcome, Planned
from vrac_notifications.domain.commands import RegisterWebhook
from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.delivery import (
    Delivery,
    DeliveryProblem,
    DeliveryStatus,
    RetrySchedule,
)
from vrac_notifications.domain.errors import (
    ChangedMeanwhile,
    NoWebhook,
    UnknownCase,
)
from vrac_notifications.domain.intents import (
    DeclinedTaskMessage,
    DiplomaMessage,
    FamilyAdviceMessage,
    Intent,
    MessageKind,
    OverdueTaskNotice,
    SchoolAdviceMessage,
    TaskKind,
    TaskMessage,
)
from vrac_notifications.domain.templates import Answer, FamilyPage, Message, render
from vrac_notifications.domain.webhooks import WebhookSubscription, webhook_body
from vrac_notifications.ports import (
    CaseFiles,
    Claim,
    Deliveries,
    Destinations,
    ErasureAudit,
    Hook,
    HookPoster,
    M,
    Mail,
    Mailer,
    SealedReader,
    Webhooks,
)

Sleep = Callable[[float], Awaitable[None]]
Authorize = Callable[[vocab.Pilot], None]  # refuses a pilot the caller may not touch
Send = Callable[[], Awaitable[None]]
# ``await task_link(case_id, task_id, member_id)``: the member's answer link (network signs it)
TaskLink = Callable[[str, str, str], Awaitable[Answer]]
# ``await family_link(case_id, guardian_id)``: the guardian's way into the web app (intake signs)
FamilyLink = Callable[[str, str], Awaitable[FamilyPage]]
# the owners of the sealed personal data this service reads
INTAKE, NETWORK = "intake", "network"
# a case-file write that lost a race reads again and retries, at most this many times in all
_WRITE_ATTEMPTS = 3
# the part of a claim a send may not use: replicas' clocks differ a little
_CLAIM_MARGIN = 0.1
log = get_logger(__name__)


Observe = Callable[[vocab.Channel, str], None]
"""Told the channel and the outcome each time a delivery reaches one: ``delivered``,
``scheduled`` (a transient failure put it back on the schedule), ``failed``, ``withheld``,
``cancelled``. For metrics."""


def process_owner() -> str:
    """Who holds a claim: this process, unique even when a pod restarts under its name."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@dataclass
class Deps:
    """Everything the handlers use; built once by the composition root."""

    case_files: CaseFiles
    deliveries: Deliveries
    webhooks: Webhooks
    mailer: Mailer
    poster: HookPoster
    destinations: Destinations  # where a webhook may point (checked again by the poster)
    diploma_link: Callable[[str], Awaitable[str]]  # a diploma's URL the family can open
    opener: SealedReader  # opens the names and addresses that arrive sealed
    audit: ErasureAudit
    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    # how long a message's first send waits, so that a withdrawal read just after the event
    # that made it due still cancels it
    hold: dt.timedelta = dt.timedelta(0)
    claim_seconds: float = 120.0  # how long an attempt's claim lasts; sends end before it
    owner: str = field(default_factory=process_owner)
    # how long a replaced webhook secret keeps signing beside the new one
    secret_overlap: dt.timedelta = dt.timedelta(hours=24)
    clock: Clock = utc_now
    sleep: Sleep = asyncio.sleep  # between write retries; tests wait for nothing
    observe: Observe = lambda channel, outcome: None
    # these deliveries are due in so many seconds: the scheduler starts them then, without
    # waiting for its scan
    on_due: Callable[[list[str], float], None] = lambda delivery_ids, after: None
    # a task's answer link for a helper without an account; None: no links (no network)
    task_link: TaskLink | None = None
    # the family's link into the web app; None: no web app (VRAC_WEB_URL unset)
    family_link: FamilyLink | None = None


@dataclass(frozen=True)
class Trigger:
    """The event that makes a message due: its ``ce_id`` and CloudEvents type."""

    event_id: str
    event_type: str


# -- the directory --


async def open_case(deps: Deps, event: events.CaseOpened) -> None:
    await _change(deps, event, lambda case: None)


async def close_case(deps: Deps, event: events.CaseClosed) -> None:
    """Closing clears the case's personal data and cancels what is scheduled; an erasure
    then finishes its remaining steps (see ``finish_erasure``)."""
    erase = event.reason is vocab.CloseReason.ERASURE_REQUESTED
    await _change(
        deps, event, lambda case: case.close(event.occurred_at, erase=erase), cancels=True
    )
    if erase:
        await finish_erasure(deps, event.case_id)


async def finish_erasure(deps: Deps, case_id: str) -> bool:
    """The steps of an erasure after the case file was cleared and marked erased: cancel
    every scheduled delivery, drop the case's cached keys, record it in the audit trail,
    then clear the pending marker. Safe to run again; False when nothing was pending."""
    case = await deps.case_files.get(case_id)
    if case is None or not case.erasure_pending:
        return False
    await dispatch(deps, case, cancels=True)
    deps.opener.forget_case(case_id)
    await deps.audit.erased(case_id, str(case.pilot))
    await _change_case(deps, case_id, case.pilot, lambda found: found.erasure_done())
    log.info("case erased", case_id=case_id)
    return True


async def finish_erasures(deps: Deps, limit: int = 100) -> int:
    """The periodic job: finish every erasure a crash or a failing store left pending."""
    pending = await deps.case_files.erasures_pending(limit)
    for case_id in pending:
        try:
            await finish_erasure(deps, case_id)
        except Exception as err:  # still pending: the next round tries again; others go on
            log.warning("erasure not finished", case_id=case_id, error=type(err).__name__)
    return len(pending)


async def register_family(deps: Deps, event: events.FamilyRegisteredV2) -> None:
    """File the child's first name and the guardians, opened from their sealed values; a
    case closed or erased here, or whose key is gone, stores nothing."""
    known = await deps.case_files.get(event.case_id)
    child = None
    if known is None or not known.closed:
        child = await _open(deps, INTAKE, event.case_id, event.child, ChildDetails)
    if child is None:
        await _change(deps, event, lambda case: False)
        return
    guardians = [
        contact
        for guardian in event.guardians
        if (contact := await _guardian(deps, event.case_id, guardian)) is not None
    ]
    name = child.child_first_name
    await _change(deps, event, lambda case: case.register_family(name, event.language, guardians))


async def add_member(deps: Deps, event: events.MemberAddedV2) -> None:
    """File a network member as they joined (``member-added``) or as the coach changed them
    (``member-edited``), opened from the sealed details; nothing once they are gone. Messages
    planned from then on go to the details filed last."""
    known = await deps.case_files.get(event.case_id)
    details = None
    if known is None or not (known.closed or event.member_id in known.removed):
        details = await _open(deps, NETWORK, event.case_id, event.details, MemberDetails)
    if details is None:
        await _change(deps, event, lambda case: False)
        return
    member = _member(event, details)
    await _change(deps, event, lambda case: case.add_member(member, event.occurred_at))


async def remove_guardian(deps: Deps, event: events.GuardianRemoved) -> None:
    await _remove(deps, event, event.guardian_id)


async def remove_member(deps: Deps, event: events.MemberRemoved) -> None:
    await _remove(deps, event, event.member_id)


async def _remove(deps: Deps, event: EventData, person_id: str) -> None:
    """Drop the person's details and cancel what is scheduled for them."""
    await _change(deps, event, lambda case: case.remove_contact(person_id), cancels=True)
    deps.opener.forget(person_id)


async def record_consent(deps: Deps, event: events.ConsentRecorded) -> None:
    if event.purpose is vocab.ConsentPurpose.SHARE_WITH_AGENCY and event.agency_id is None:
        # names no agency, so there is nothing it could allow: never filed, never granted
        await _change(deps, event, lambda case: False)
        return
    key, decision = consent_decision(event)
    await _change(
        deps, event, lambda case: case.change_consent(key, decision), cancels=not decision.granted
    )


async def _open(deps: Deps, owner: str, case_id: str, sealed: Sealed, model: type[M]) -> M | None:
    """A sealed value opened (None: erased). A value that does not authenticate will never
    open: the event is dead-lettered. An owner that cannot be asked now fails the attempt,
    and the consumer tries the event again."""
    try:
        return await deps.opener.open(owner, case_id, sealed, model)
    except SealBroken as err:
        raise PermanentError(str(err)) from None


async def _guardian(deps: Deps, case_id: str, guardian: SealedGuardian) -> Contact | None:
    details = await _open(deps, INTAKE, case_id, guardian.details, GuardianDetails)
    if details is None:
        return None  # the guardian was removed: their key is gone
    return Contact(
        recipient_id=guardian.guardian_id,
        recipient_kind=RecipientKind.GUARDIAN,
        name=details.name,
        language=guardian.language,
        channel=guardian.preferred_channel,
        email=details.email,
        phone=details.phone,
    )


def _member(event: events.MemberAddedV2, details: MemberDetails) -> Contact:
    return Contact(
        recipient_id=event.member_id,
        recipient_kind=RecipientKind.MEMBER,
        name=details.display_name,
        language=event.language,
        channel=event.channel,
        email=details.email,
        phone=details.phone,
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
    """Remind the member of an overdue task, and tell the network's coordinator (spider in
    the web) so they can follow it up; both take the category from the assignment, and the
    coordinator's notice waits until a coordinator is known here."""
    await _expect(deps, event, _task(MessageKind.TASK_OVERDUE, event, trigger, None))
    notice = OverdueTaskNotice(
        **_origin(event, trigger),
        task_id=event.task_id,
        member_id=event.assignee_id,
        due_date=event.due_date,
    )
    await _expect(deps, event, notice)


async def remind_before_due(deps: Deps, event: events.TaskDueSoon, trigger: Trigger) -> None:
    """Remind the member of a task whose due date is near (its category from the assignment)."""
    intent = _task(MessageKind.TASK_DUE_SOON, event, trigger, None)
    await _expect(deps, event, replace(intent, due_date=event.due_on))


async def tell_coordinator(deps: Deps, event: events.TaskDeclinedV2, trigger: Trigger) -> None:
    """Tell the network's coordinator (spider in the web) that a member declined a task, so
    someone finds another helper; it waits until the coordinator is known here."""
    intent = DeclinedTaskMessage(
        **_origin(event, trigger),
        task_id=event.task_id,
        member_id=event.assignee_id,
        coordinator_id=event.coordinator_id,
        reason=event.decline_reason,
    )
    await _expect(deps, event, intent)


async def announce_diploma(deps: Deps, event: events.DiplomaIssued, trigger: Trigger) -> None:
    """Tell the guardians the child's diploma is ready."""
    intent = DiplomaMessage(
        **_origin(event, trigger),
        diploma_id=event.diploma_id,
    )
    await _expect(deps, event, intent)


async def advise_school(deps: Deps, event: events.FindingsRecorded, trigger: Trigger) -> None:
    """Give the school the screening's advice for school, if it has any."""
    codes = _advice_for(event, vocab.AdviceAudience.SCHOOL)
    if not codes:
        return  # nothing for school in this screening
    intent = SchoolAdviceMessage(
        **_origin(event, trigger),
        screening_id=event.screening_id,
        advice_codes=codes,
    )
    await _expect(deps, event, intent)


async def advise_family(deps: Deps, event: events.FindingsRecorded, trigger: Trigger) -> None:
    """Give the guardians the screening's advice for parents and for the child, if any; it
    goes under the screening consent (checked when it is sent)."""
    parents = _advice_for(event, vocab.AdviceAudience.PARENTS)
    child = _advice_for(event, vocab.AdviceAudience.CHILD)
    if not parents and not child:
        return  # nothing for the family in this screening
    intent = FamilyAdviceMessage(
        **_origin(event, trigger),
        screening_id=event.screening_id,
        parent_codes=parents,
        child_codes=child,
    )
    await _expect(deps, event, intent)


def _origin(event: EventData, trigger: Trigger) -> dict[str, Any]:
    """What every message keeps of the event that made it due."""
    return {
        "trigger_id": trigger.event_id,
        "trigger_type": trigger.event_type,
        "occurred_at": event.occurred_at,
    }


def _advice_for(event: events.FindingsRecorded, audience: vocab.AdviceAudience) -> tuple[str, ...]:
    return tuple(str(a.code) for a in event.advice if a.audience is audience)


def _task(
    kind: TaskKind,
    event: events.TaskAssigned | events.TaskDueSoon | events.TaskOverdue,
    trigger: Trigger,
    category: vocab.TaskCategory | None,
) -> TaskMessage:
    return TaskMessage(
        kind=kind,
        **_origin(event, trigger),
        task_id=event.task_id,
        member_id=event.assignee_id,
        category=category,
        due_date=event.due_date,
    )


async def _expect(deps: Deps, event: EventData, intent: Intent) -> None:
    """An event made a message due: it is scheduled; a failure to send never fails the event."""
    if isinstance(intent, SchoolAdviceMessage | FamilyAdviceMessage):
        # newer advice supersedes what is still scheduled of the older one
        await _change(deps, event, lambda case: case.expect(intent), cancels=True)
        return
    recorded = False

    def expect(case: CaseFile) -> bool:
        nonlocal recorded
        recorded = case.expect(intent)
        return recorded

    case = await _change_case(deps, event.case_id, event.pilot, expect)
    if recorded:
        await _dispatch_new(deps, case, intent.trigger_id)
    else:  # a redelivery (or a closed case): finish whatever a crash interrupted
        await dispatch(deps, case)


async def _dispatch_new(deps: Deps, case: CaseFile, trigger_id: str) -> None:
    """Store the deliveries of a message owed for the first time. None of them can exist
    yet (their ids derive from the trigger, which the case file had not seen), so the
    case's other deliveries are not read; a delivery stored anyway is kept as it is."""
    due = [
        item.delivery_id
        for item in case.plan()
        if item.intent.trigger_id == trigger_id and await _store(deps, case, item)
    ]
    if due:
        deps.on_due(due, deps.hold.total_seconds())


async def _change(
    deps: Deps,
    event: EventData,
    change: Callable[[CaseFile], bool | None],
    *,
    cancels: bool = False,
) -> None:
    """Apply ``change`` to the event's case file, reading again when a write lost a race."""
    case = await _change_case(deps, event.case_id, event.pilot, change)
    # Also after "nothing new": a redelivered event finishes what a crash interrupted.
    await dispatch(deps, case, cancels=cancels)


async def _change_case(
    deps: Deps, case_id: str, pilot: vocab.Pilot, change: Callable[[CaseFile], bool | None]
) -> CaseFile:
    return await retried(
        lambda: _apply(deps, case_id, pilot, change),
        attempts=_WRITE_ATTEMPTS,
        first_wait=0,
        retry_if=lambda error: isinstance(error, ChangedMeanwhile),
        sleep=deps.sleep,
    )


async def _apply(
    deps: Deps, case_id: str, pilot: vocab.Pilot, change: Callable[[CaseFile], bool | None]
) -> CaseFile:
    case = await deps.case_files.get(case_id)
    case = case or CaseFile(case_id=case_id, pilot=pilot)
    if change(case) is not False:  # False: nothing new (a redelivery, an older decision)
        await deps.case_files.save(case)
    return case


async def dispatch(deps: Deps, case: CaseFile, *, cancels: bool = False) -> None:
    """Store what became due and wake the scheduler; with ``cancels`` (a closing, a
    withdrawal), also cancel what is scheduled and may no longer go. (Every attempt checks the
    case file again anyway; this makes the coach see it at once.)"""
    planned = case.plan()
    if not planned and not cancels:
        return  # most events of a case owe nothing: no read of its deliveries
    known = await deps.deliveries.statuses(case.case_id)
    due: list[str] = []
    for item in planned:
        status = known.get(item.delivery_id)
        if status is None:
            if await _store(deps, case, item):
                due.append(item.delivery_id)
        elif _releasable(item, status):
            delivery = _delivery(deps, case, item)
            delivery.schedule(deps.clock(), deps.schedule, deps.hold)
            if await deps.deliveries.release(delivery):
                due.append(item.delivery_id)
    sendable = {item.delivery_id for item in planned if item.outcome is Outcome.SEND}
    for delivery_id, status in known.items():
        if status is DeliveryStatus.SCHEDULED and delivery_id not in sendable:
            await attempt_delivery(deps, delivery_id, early=True)  # finds it must not go
    if due:
        deps.on_due(due, deps.hold.total_seconds())


async def _store(deps: Deps, case: CaseFile, item: Planned) -> bool:
    """Record a newly planned message; True when it is scheduled to go now."""
    delivery = _delivery(deps, case, item)
    if item.outcome is Outcome.SEND:
        delivery.schedule(deps.clock(), deps.schedule, deps.hold)
        return await deps.deliveries.schedule(delivery)
    delivery.refuse()
    if await deps.deliveries.record(delivery):
        deps.observe(delivery.channel, str(delivery.status))
        log.info("message not sent", delivery_id=delivery.delivery_id, reason=item.outcome)
    return False


def _releasable(item: Planned, status: DeliveryStatus | None) -> bool:
    return (
        status is DeliveryStatus.WITHHELD
        and item.outcome is Outcome.SEND
        and item.consent_was_in_force
    )


def _delivery(deps: Deps, case: CaseFile, item: Planned) -> Delivery:
    return Delivery.of(item, case_id=case.case_id, pilot=case.pilot, now=deps.clock())


# -- the attempts (the scheduler's side) --


async def due_deliveries(deps: Deps, limit: int) -> list[str]:
    return await deps.deliveries.due(deps.clock(), limit)


async def send_due(deps: Deps, limit: int = 100) -> int:
    """Attempt every due delivery, one after the other; how many were due."""
    due = await due_deliveries(deps, limit)
    for delivery_id in due:
        await attempt_delivery(deps, delivery_id)
    return len(due)


async def attempt_delivery(deps: Deps, delivery_id: str, *, early: bool = False) -> None:
    """One attempt at a delivery, under a claim: re-read the case file, then cancel the
    message, or send it and record what came of it. ``early``: also when not yet due (to
    cancel it). Nothing happens when another owner holds the delivery or it is not due."""
    now = deps.clock()
    until = now + dt.timedelta(seconds=deps.claim_seconds)
    claim = await deps.deliveries.claim(delivery_id, deps.owner, now, until, early=early)
    if claim is None:
        return
    delivery = claim.delivery
    case = await deps.case_files.get(delivery.case_id)
    item = _planned(case, delivery_id)
    if case is None or item is None or item.outcome is not Outcome.SEND:
        delivery.cancel(_cancelled_for(case, item, delivery), deps.clock())
        await _finish(deps, delivery, claim)
        return
    send = await _prepared(deps, case, item)
    if send is None:
        delivery.fail(vocab.DeliveryError.NO_CONTACT_DETAILS, deps.clock())
        await _finish(deps, delivery, claim)
        return
    delivery.attempts += 1
    problem = await _send_within(deps, send, claim)
    now = deps.clock()
    if problem is None:
        delivery.succeed(now)
    elif not problem.retryable:
        delivery.fail(problem.code, now)
    elif now >= claim.expires_at:
        return  # failed for now, and the claim ran out: another owner may be trying already
    else:
        until = delivery.retry_until or delivery.created_at + deps.schedule.retry_for
        when = deps.schedule.next_attempt(delivery.attempts, until, now)
        if when is None:
            delivery.fail(problem.code, now)
        else:
            delivery.retry_at(problem.code, when, now)
    await _finish(deps, delivery, claim)


def _cancelled_for(
    case: CaseFile | None, item: Planned | None, delivery: Delivery
) -> vocab.DeliveryError:
    """Why a scheduled message may no longer go: a consent, a recipient who left, or other
    (the case closed, the message no longer owed)."""
    if item is not None and item.error:
        return item.error
    if case is not None and not case.closed and delivery.recipient_id in case.removed:
        return vocab.DeliveryError.NO_CONTACT_DETAILS
    return vocab.DeliveryError.OTHER


def _planned(case: CaseFile | None, delivery_id: str) -> Planned | None:
    """What the case file says of this message now (None: closed, or no longer owed)."""
    if case is None:
        return None
    return next((item for item in case.plan() if item.delivery_id == delivery_id), None)


async def _prepared(deps: Deps, case: CaseFile, item: Planned) -> Send | None:
    """The send of this message (None: no address). A message that cannot even be prepared
    (a store read failing) is tried again later like any transient failure; one whose
    diploma link screening refuses fails as screening says."""
    problem: DeliveryProblem
    try:
        url = await _diploma_url(deps, item.intent)
        answer = await _answer(deps, case, item)
        family = await _family_page(deps, case, item)
        return await _sender(deps, case, item, _render(case, item, url, answer, family), url)
    except DeliveryProblem as refused:  # a link refused (diploma) or not given now
        log.warning("message not prepared", delivery_id=item.delivery_id, error=str(refused.code))
        problem = refused
    except Exception as err:
        log.error("message not prepared", delivery_id=item.delivery_id, error=type(err).__name__)
        problem = DeliveryProblem(vocab.DeliveryError.OTHER, retryable=True)

    async def fails() -> None:
        raise problem

    return fails


def _render(
    case: CaseFile,
    item: Planned,
    diploma_url: str,
    answer: Answer | None,
    family: FamilyPage | None = None,
) -> Message:
    member_name = None  # who a coordinator's notice is about
    if isinstance(item.intent, DeclinedTaskMessage | OverdueTaskNotice):
        member = case.contacts.get(item.intent.member_id)
        member_name = member.name if member is not None else None
    return render(
        item.intent,
        item.contact,
        case_id=case.case_id,
        child_first_name=case.child_first_name,
        diploma_url=diploma_url,
        answer=answer,
        member_name=member_name,
        family=family,
    )


async def _send_within(deps: Deps, send: Send, claim: Claim) -> DeliveryProblem | None:
    """Send, but never up to the claim's end: a send still running at 90% of the claim is
    cancelled, leaving a margin for clocks that differ between replicas (the channels have
    their own deadlines too). Anything unexpected counts as transient."""
    margin = deps.claim_seconds * _CLAIM_MARGIN
    left = (claim.expires_at - deps.clock()).total_seconds() - margin
    try:
        async with asyncio.timeout(max(left, 0)):
            await send()
    except DeliveryProblem as problem:
        return problem
    except TimeoutError:
        return DeliveryProblem(vocab.DeliveryError.TIMEOUT, retryable=True)
    except Exception as err:
        log.error(
            "sending raised", delivery_id=claim.delivery.delivery_id, error=type(err).__name__
        )
        return DeliveryProblem(vocab.DeliveryError.OTHER, retryable=True)
    return None


async def _finish(deps: Deps, delivery: Delivery, claim: Claim) -> None:
    recorded = await deps.deliveries.finish(delivery, claim)
    fields = {"delivery_id": delivery.delivery_id, "attempts": delivery.attempts}
    if not recorded:
        log.warning("outcome already on record", **fields)
        return
    deps.observe(delivery.channel, str(delivery.status))
    if delivery.status is DeliveryStatus.DELIVERED:
        log.info("message delivered", **fields)
    elif delivery.status is DeliveryStatus.SCHEDULED:
        log.info("message retried later", error=str(delivery.error_code), **fields)
    else:
        log.warning(
            "message not delivered",
            status=str(delivery.status),
            error=str(delivery.error_code),
            **fields,
        )


async def _diploma_url(deps: Deps, intent: Intent) -> str:
    """A fresh link for a diploma message (screening signs it); empty for other messages."""
    return await deps.diploma_link(intent.diploma_id) if isinstance(intent, DiplomaMessage) else ""


async def _family_page(deps: Deps, case: CaseFile, item: Planned) -> FamilyPage | None:
    """A fresh family link for a guardian's diploma or advice message (intake signs it).
    Intake away: tried again later like any transient failure; intake refusing one (the
    case closed, the guardian gone): the message fails for good, as it would not go now."""
    if (
        deps.family_link is None
        or not isinstance(item.intent, DiplomaMessage | FamilyAdviceMessage)
        or item.contact.recipient_kind is not RecipientKind.GUARDIAN
    ):
        return None
    return await deps.family_link(case.case_id, item.contact.recipient_id)


# who answers a task from its e-mail: the family's own people and informal helpers, who have
# no account (coaches, professionals and agencies answer with their tokens)
_ANSWER_BY_LINK = (vocab.MemberKind.FAMILY, vocab.MemberKind.INFORMAL)


async def _answer(deps: Deps, case: CaseFile, item: Planned) -> Answer | None:
    """A fresh answer link for a task e-mail to a helper without an account (network signs
    it). Network away: tried again later like any transient failure. Network refusing one
    (the task cancelled or reassigned meanwhile): the message goes without it."""
    intent, contact = item.intent, item.contact
    if (
        deps.task_link is None
        or not isinstance(intent, TaskMessage)
        or item.channel is not vocab.Channel.EMAIL
        or contact.member_kind not in _ANSWER_BY_LINK
    ):
        return None
    try:
        return await deps.task_link(case.case_id, intent.task_id, contact.recipient_id)
    except DeliveryProblem as refused:
        if refused.retryable:
            raise
        log.warning("sent without answer link", delivery_id=item.delivery_id)
        return None


async def _sender(
    deps: Deps, case: CaseFile, item: Planned, message: Message, diploma_url: str
) -> Send | None:
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
            diploma_url=diploma_url,
        )
        hook = Hook(
            item.delivery_id,
            str(item.intent.kind),
            subscription.url,
            subscription.signing_secrets(deps.clock()),
            body,
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


# -- the HTTP side --


async def register_webhook(
    deps: Deps, command: RegisterWebhook, authorize: Authorize
) -> WebhookSubscription:
    """Register or replace an agency's endpoint; a webhook of another pilot stays its own.
    A new secret replaces the current one, which keeps signing beside it for the overlap."""
    existing = await deps.webhooks.get(command.agency_id)
    if existing is not None:
        authorize(existing.pilot)
    await deps.destinations.check(command.url)
    now = deps.clock()
    if existing is None:
        subscription = WebhookSubscription.new(
            agency_id=command.agency_id,
            pilot=command.pilot,
            url=command.url,
            secret=command.secret,
            now=now,
        )
    else:
        subscription = existing.registered(
            pilot=command.pilot,
            url=command.url,
            secret=command.secret,
            now=now,
            overlap=deps.secret_overlap,
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
