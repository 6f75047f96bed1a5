"""The audit entry of an erasure this service made on ``case-closed`` (no request, no user)."""

from __future__ import annotations

from typing import Final

from vrac_contracts.catalogue import spec_for
from vrac_contracts.events import CaseClosed
from vrac_runtime.audit import AuditOutbox, record_handled_change

# what was erased: the case's file here, as the deliveries route names the case
ERASED_RESOURCE: Final = "/cases/{case_id}"


class AuditedErasures:
    def __init__(self, trail: AuditOutbox, service: str) -> None:
        self._trail = trail
        self._service = service

    async def erased(self, case_id: str, pilot: str) -> None:
        await record_handled_change(
            self._trail,
            service=self._service,
            case_id=case_id,
            pilot=pilot,
            resource=ERASED_RESOURCE,
            trigger_type=spec_for(CaseClosed).ce_type,
        )
