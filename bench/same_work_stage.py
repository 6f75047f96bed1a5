"""One stage of the hand-written ``same_work`` pipeline: plain aiokafka, PyMongo and
aiosmtplib, none of the platform's framework (no FastStream, no ``vrac_runtime``, no
contract models).

``python -m bench.same_work_stage diploma '<config>'`` does the diploma maker's essential work
per ``findings-recorded``; ``python -m bench.same_work_stage notify '<config>'`` does
notifications' per ``findings-recorded`` (the advice for school) and per ``diploma-issued``
(e-mail the guardians). The config (JSON, from ``bench.same_work``) names the topics, the
CloudEvents types, the consumer group, the database and the SMTP port. Both print ``ready``
and stop on SIGTERM.

The same promises as the platform: every effect is keyed by an id derived from the event
(a redelivered record stores, sends and publishes nothing twice), the event a write causes
is stored in that document's outbox by the same write and published from there, and
offsets are committed only once the batch's effects are stored and its events acknowledged
by Kafka. Different cases of a batch are handled at once, the records of one case in order,
at most ``VRAC_CONSUMER_MAX_IN_FLIGHT`` records (default 8, the platform's) per batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sys
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from bench.clients import kafka_clients

_IDS = uuid.UUID("0d7c4f7e-91a3-4b52-8f0e-6a2c1b9d3e57")
SENDER = "VRAC <noreply@vrac.invalid>"
Outbox = list[dict[str, Any]]  # (topic, key, value, headers) of events to publish
# (collection, _id) of the documents whose outbox a handling filled
Written = list[tuple[str, str]]


def derived(kind: str, *parts: str) -> str:
    return f"{kind}_{uuid.uuid5(_IDS, '/'.join(parts)).hex}"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def cloud_event(topic: str, ce_type: str, source: str, data: dict[str, Any]) -> dict[str, Any]:
    """An outbox entry: a CloudEvent in Kafka's binary mode, ready to send as it is."""
    at = now()
    data = {**data, "occurred_at": at.isoformat().replace("+00:00", "Z")}
    headers = {
        "ce_id": str(uuid.uuid4()),
        "ce_source": source,
        "ce_specversion": "1.0",
        "ce_type": ce_type,
        "ce_time": data["occurred_at"],
        "ce_subject": data["case_id"],
        "content-type": "application/json",
    }
    return {"topic": topic, "key": data["case_id"], "value": json.dumps(data), "headers": headers}


def _outbox(entries: Outbox) -> dict[str, Any]:
    return {"outbox": entries, "outbox_pending": bool(entries)}


# -- the diploma maker --


class DiplomaMaker:
    def __init__(self, db: AsyncDatabase[Any], issued: dict[str, str]) -> None:
        self.db, self.issued = db, issued

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> Written:
        """Make the screening's diploma; the documents whose outbox got an event."""
        data = json.loads(record.value or b"{}")
        case = await self.db.cases.find_one({"_id": data["case_id"]})
        consents = (case or {}).get("consents") or {}
        if case is None or case.get("erased") or not consents.get("diploma", {}).get("granted"):
            return []
        if not data["strengths"] or case.get("child_first_name") is None:
            return []
        # registered in the case, so an erasure waits for this write (as the platform does)
        token = f"w{uuid.uuid4().hex}"
        begun = await self.db.cases.update_one(
            {"_id": case["_id"], "erased": {"$ne": True}},
            {"$set": {f"writes.{token}": now() + dt.timedelta(minutes=1)}},
        )
        if not begun.matched_count:
            return []
        diploma_id = derived("dip", data["screening_id"])
        event = cloud_event(
            self.issued["topic"],
            self.issued["type"],
            "/vrac/screening",
            {
                "case_id": data["case_id"],
                "pilot": data["pilot"],
                "diploma_id": diploma_id,
                "screening_id": data["screening_id"],
                "language": case["language"],
                "strengths": data["strengths"],
            },
        )
        doc = {
            "_id": diploma_id,
            "screening_id": data["screening_id"],
            "case_id": data["case_id"],
            "pilot": data["pilot"],
            "language": case["language"],
            "strengths": data["strengths"],
            "issued_at": now(),
        }
        try:
            await self.db.diplomas.insert_one(doc | _outbox([event]))
            made = [("diplomas", diploma_id)]
        except DuplicateKeyError:
            made = []  # made before: its event is in that document's outbox already
        finally:
            await self.db.cases.update_one(
                {"_id": case["_id"]}, {"$unset": {f"writes.{token}": ""}}
            )
        return made


# -- notifications --


class Notifier:
    def __init__(self, db: AsyncDatabase[Any], config: dict[str, Any]) -> None:
        self.db = db
        self.diploma_topic: str = config["diploma_issued"]["topic"]
        # topic and type of notification-delivered and of notification-failed
        self.delivered: dict[str, str] = config["delivered"]
        self.failed: dict[str, str] = config["failed"]
        self.smtp_port = int(config["smtp_port"])
        self.owner = f"same-work-{os.getpid()}"

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> Written:
        data = json.loads(record.value or b"{}")
        trigger = dict(record.headers).get("ce_id", b"").decode()
        if record.topic == self.diploma_topic:
            intent = {"kind": "diploma-ready", "diploma_id": data["diploma_id"]}
        else:
            codes = [a["code"] for a in data.get("advice", []) if a["audience"] == "school"]
            if not codes:
                return []
            intent = {"kind": "school-advice", "screening_id": data["screening_id"]}
            intent["advice_codes"] = codes
        intent |= {"trigger_id": trigger, "occurred_at": data["occurred_at"]}
        case = await self._expect(data["case_id"], intent)
        if case is None:
            return []
        return await self._dispatch(case, intent)

    async def _expect(self, case_id: str, intent: dict[str, Any]) -> dict[str, Any] | None:
        """The case file with the message owed recorded (once per triggering event)."""
        while True:
            case = await self.db.case_files.find_one({"_id": case_id})
            if case is None or case.get("closed_at"):
                return None
            if any(i["trigger_id"] == intent["trigger_id"] for i in case["intents"]):
                return case
            saved = await self.db.case_files.update_one(
                {"_id": case_id, "version": case["version"]},
                {"$push": {"intents": intent}, "$inc": {"version": 1}},
            )
            if saved.matched_count:
                case["intents"].append(intent)
                return case

    async def _dispatch(self, case: dict[str, Any], intent: dict[str, Any]) -> Written:
        """Record each recipient's delivery; send what may go, once."""
        statuses = {
            d["_id"]: d["status"]
            async for d in self.db.deliveries.find({"case_id": case["_id"]}, {"status": 1})
        }
        recipients = [
            c
            for c in case["contacts"].values()
            if (intent["kind"] == "diploma-ready" and c["recipient_kind"] == "guardian")
            or (intent["kind"] == "school-advice" and c.get("role") == "teacher")
        ]
        made: Written = []
        for contact in recipients:
            delivery_id = derived("ntf", intent["trigger_id"], contact["recipient_id"])
            if delivery_id in statuses:
                continue  # a redelivery: this message is on record already
            allowed = contact.get("role") != "teacher" or (
                case["consents"].get("share-with-school", {}).get("granted")
            )
            if allowed and contact.get("email"):
                made += await self._send(case, intent, contact, delivery_id)
            else:
                made += await self._withhold(case, intent, contact, delivery_id)
        return made

    def _delivery(
        self, case: dict[str, Any], intent: dict[str, Any], contact: dict[str, Any], id_: str
    ) -> dict[str, Any]:
        at = now()
        return {
            "_id": id_,
            "case_id": case["_id"],
            "pilot": case["pilot"],
            "recipient_id": contact["recipient_id"],
            "recipient_kind": contact["recipient_kind"],
            "channel": "email",
            "kind": intent["kind"],
            "trigger_event_id": intent["trigger_id"],
            "status": "scheduled",
            "attempts": 0,
            "created_at": at,
            "updated_at": at,
            "delivered_at": None,
            "due_at": at,
        }

    def _event(self, delivery: dict[str, Any], **fields: Any) -> dict[str, Any]:
        data = {
            "case_id": delivery["case_id"],
            "pilot": delivery["pilot"],
            "notification_id": delivery["_id"],
            "recipient_id": delivery["recipient_id"],
            "channel": "email",
            "trigger_event_id": delivery["trigger_event_id"],
            "attempts": 1,
            **fields,
        }
        event = self.failed if "error_code" in fields else self.delivered
        return cloud_event(event["topic"], event["type"], "/vrac/notifications", data)

    async def _withhold(
        self, case: dict[str, Any], intent: dict[str, Any], contact: dict[str, Any], id_: str
    ) -> Written:
        delivery = self._delivery(case, intent, contact, id_)
        delivery |= {"status": "withheld", "attempts": 1, "error_code": "no-consent"}
        event = self._event(delivery, error_code="no-consent", final=False)
        try:
            await self.db.deliveries.insert_one(delivery | _outbox([event]))
        except DuplicateKeyError:
            return []
        return [("deliveries", id_)]

    async def _send(
        self, case: dict[str, Any], intent: dict[str, Any], contact: dict[str, Any], id_: str
    ) -> Written:
        delivery = self._delivery(case, intent, contact, id_)
        try:
            await self.db.deliveries.insert_one(delivery | {"claims": 0})
        except DuplicateKeyError:
            return []
        # the attempt is claimed by inserting its id: only one owner ever sends it
        at = now()
        claim = {"_id": f"{id_}:1", "delivery_id": id_, "owner": self.owner, "claimed_at": at}
        try:
            await self.db.delivery_claims.insert_one(
                claim | {"expires_at": at + dt.timedelta(minutes=5)}
            )
        except DuplicateKeyError:
            return []
        await self.db.deliveries.update_one(
            {"_id": id_}, {"$set": {"status": "sending", "claims": 1, "claim_owner": self.owner}}
        )
        # read again just before sending: a withdrawal or a closing stops it
        fresh = await self.db.case_files.find_one({"_id": case["_id"]})
        if fresh is None or fresh.get("closed_at"):
            return []
        await aiosmtplib.send(
            _mail(id_, contact, fresh),
            recipients=[contact["email"]],
            hostname="127.0.0.1",
            port=self.smtp_port,
            timeout=30,
        )
        done = now()
        outcome = {"status": "delivered", "attempts": 1, "updated_at": done, "delivered_at": done}
        event = self._event(delivery)
        try:
            await self.db.delivery_outcomes.insert_one(
                {"_id": f"{id_}:final", "delivery_id": id_} | outcome | _outbox([event])
            )
        except DuplicateKeyError:
            return []
        await self.db.deliveries.update_one(
            {"_id": id_}, {"$set": outcome | {"next_attempt_at": None, "due_at": None}}
        )
        return [("delivery_outcomes", f"{id_}:final")]


def _mail(delivery_id: str, contact: dict[str, Any], case: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = contact["email"]
    message["Subject"] = "Het diploma is klaar"
    message["Content-Language"] = contact["language"]
    message["Message-ID"] = f"<{delivery_id}@vrac.invalid>"
    message["X-VRAC-Notification"] = delivery_id
    message.set_content(
        f"Beste {contact['name']},\n\nHet diploma van {case['child_first_name']} is klaar. "
        "Er staat in waar je kind goed in is, en waarom dat zo mooi is.\n\n"
        "Bekijk het diploma: https://vrac.invalid/diplomas\n\nMet vriendelijke groet,\nHet team\n"
    )
    return message


# -- the loop: batch, cases at once, publish, clear the outboxes, commit --


async def _in_order(
    handle: Callable[[ConsumerRecord[bytes, bytes]], Awaitable[Written]],
    records: list[ConsumerRecord[bytes, bytes]],
) -> Written:
    made: Written = []
    for record in records:
        made += await handle(record)
    return made


async def publish_outboxes(
    db: AsyncDatabase[Any], producer: AIOKafkaProducer, written: Written
) -> None:
    """Send the events of these documents without awaiting each, then clear their outboxes
    with one write per collection once Kafka acknowledged them all."""
    by_collection: dict[str, list[str]] = defaultdict(list)
    for collection, doc_id in written:
        by_collection[collection].append(doc_id)
    deliveries = []
    for collection, ids in by_collection.items():
        async for doc in db[collection].find({"_id": {"$in": ids}}, {"outbox": 1}):
            for entry in doc["outbox"]:
                deliveries.append(
                    await producer.send(
                        entry["topic"],
                        value=entry["value"].encode(),
                        key=entry["key"].encode(),
                        headers=[(k, v.encode()) for k, v in entry["headers"].items()],
                    )
                )
    await asyncio.gather(*deliveries)
    for collection, ids in by_collection.items():
        await db[collection].update_many(
            {"_id": {"$in": ids}}, {"$set": {"outbox": [], "outbox_pending": False}}
        )


async def _pending(db: AsyncDatabase[Any], collections: tuple[str, ...]) -> Written:
    """Documents whose events a stopped stage did not get out."""
    found = []
    for name in collections:
        await db[name].create_index("outbox_pending")
        async for doc in db[name].find({"outbox_pending": True}, {"_id": 1}):
            found.append((name, doc["_id"]))
    return found


async def _rewind(consumer: AIOKafkaConsumer) -> None:
    """Back to the committed offsets: the handlers are idempotent, so what the failed batch
    did already is done again harmlessly."""
    for tp in consumer.assignment():
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)


async def run(stage: str, config: dict[str, Any]) -> None:
    in_flight = int(os.environ.get("VRAC_CONSUMER_MAX_IN_FLIGHT", "8"))
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        os.environ.get("MONGODB_URL", "mongodb://127.0.0.1:27017")
    )
    db = client[config["database"]]
    handler: DiplomaMaker | Notifier
    collections: tuple[str, ...]
    topics = [config["findings"]]
    if stage == "diploma":
        handler, collections = DiplomaMaker(db, config["diploma_issued"]), ("diplomas",)
    else:
        handler, collections = Notifier(db, config), ("deliveries", "delivery_outcomes")
        topics.append(config["diploma_issued"]["topic"])
    consumer, producer = kafka_clients(topics, config["group"])
    await consumer.start()
    await producer.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await publish_outboxes(db, producer, await _pending(db, collections))
        print("ready", flush=True)
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100, max_records=in_flight)
            by_case: dict[bytes | None, list[ConsumerRecord[bytes, bytes]]] = defaultdict(list)
            for records in batches.values():
                for record in records:
                    by_case[record.key].append(record)
            if not by_case:
                continue
            try:
                made = await asyncio.gather(
                    *(_in_order(handler.handle, r) for r in by_case.values())
                )
                await publish_outboxes(db, producer, [doc for docs in made for doc in docs])
            except Exception as err:  # any failure: the whole batch again
                print(f"batch failed ({type(err).__name__}); reading it again", file=sys.stderr)
                await asyncio.sleep(0.5)
                await _rewind(consumer)
                continue
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
        await client.close()


def main() -> None:
    asyncio.run(run(sys.argv[1], json.loads(sys.argv[2])))


if __name__ == "__main__":
    main()
