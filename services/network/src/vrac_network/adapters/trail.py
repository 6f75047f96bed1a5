"""The audit trail of changes an event made: network erasing a case after case-closed."""

from __future__ import annotations

from typing import Any, Final

from pymongo.asynchronous.database import AsyncDatabase
from vrac_contracts.catalogue import spec_for
from vrac_contracts.events.intake import CaseClosed
from vrac_runtime.audit import AuditOutbox, record_handled_change

# the erasure reached the whole care plan: its members and its tasks
ERASED_RESOURCE: Final = "/cases/{case_id}/plan"


class AuditTrail:
    """Queues entries in the service's audit outbox; its audit relay publishes them."""

    def __init__(self, db: AsyncDatabase[Any], service: str) -> None:
        self._outbox = AuditOutbox(db)
        self._service = service

    async def case_erased(self, case_id: str, pilot: str) -> None:
        await record_handled_change(
            self._outbox,
            service=self._service,
            case_id=case_id,
            pilot=pilot,
            resource=ERASED_RESOURCE,
            trigger_type=spec_for(CaseClosed).ce_type,
        )
