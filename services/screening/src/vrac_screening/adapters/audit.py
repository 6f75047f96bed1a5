"""The audit trail of changes made by events: the service's own audit outbox, which the
audit relay publishes like the entries of requests."""

from __future__ import annotations

from typing import Any, Final

from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events.intake import CaseClosed
from vrac_runtime.audit import AuditOutbox, record_handled_change

SERVICE: Final = "screening"
# everything of the case went: its screenings, diplomas, PDFs and questionnaires
ERASED_RESOURCE: Final = "/cases/{case_id}"


class MongoAuditTrail:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self._outbox = AuditOutbox(db)

    async def erased(self, case_id: str, pilot: str) -> None:
        await record_handled_change(
            self._outbox,
            service=SERVICE,
            case_id=case_id,
            pilot=pilot,
            resource=ERASED_RESOURCE,
            trigger_type=spec_for(CaseClosed).ce_type,
        )
