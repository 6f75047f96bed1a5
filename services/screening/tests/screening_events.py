"""Intake's events as screening receives them, built for the tests (a module of its own:
test modules cannot import a conftest, and the process test needs them too). The family's
details travel sealed: ``key_owner.IntakeKeys.family`` builds that event."""

from __future__ import annotations

from typing import Any

from vrac_contracts.events.intake import CaseClosed, CaseOpened, ConsentRecorded

OCCURRED_AT = "2025-03-14T09:30:00Z"


def base(case_id: str, pilot: str = "leiden") -> dict[str, Any]:
    return {"case_id": case_id, "pilot": pilot, "occurred_at": OCCURRED_AT}


def opened(case_id: str, pilot: str = "leiden") -> CaseOpened:
    return CaseOpened.model_validate(
        {**base(case_id, pilot), "programme": "pit", "opened_at": "2025-03-14T09:00:00+01:00"}
    )


def consent(
    case_id: str,
    purpose: str,
    granted: bool = True,
    changed_at: str = "2025-03-14T10:00:00Z",
    pilot: str = "leiden",
) -> ConsentRecorded:
    return ConsentRecorded.model_validate(
        {
            **base(case_id, pilot),
            "purpose": purpose,
            "granted": granted,
            "changed_by": "guardian",
            "changed_at": changed_at,
        }
    )


def closed(case_id: str, reason: str, pilot: str = "leiden") -> CaseClosed:
    return CaseClosed.model_validate(
        {**base(case_id, pilot), "occurred_at": "2025-06-01T10:00:00Z", "reason": reason}
    )
