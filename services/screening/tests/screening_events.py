"""Intake's events as screening receives them, built for the tests (a module of its own:
test modules cannot import a conftest, and the process test needs them too)."""

from __future__ import annotations

from typing import Any

from vrac_contracts.events.intake import CaseOpened, ConsentChanged, FamilyRegistered

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
) -> ConsentChanged:
    return ConsentChanged.model_validate(
        {
            **base(case_id, pilot),
            "purpose": purpose,
            "granted": granted,
            "changed_by": "guardian",
            "changed_at": changed_at,
        }
    )


def family(
    case_id: str, name: str = "Sam", language: str = "nl", pilot: str = "leiden"
) -> FamilyRegistered:
    return FamilyRegistered.model_validate(
        {
            **base(case_id, pilot),
            "child_first_name": name,
            "birth_year": 2016,
            "language": language,
            "programme": "pit",
            "guardians": [
                {
                    "guardian_id": "gdn_a1b2c3d4e5f6",
                    "name": "Fatima",
                    "email": "fatima@example.org",
                    "preferred_channel": "email",
                    "language": language,
                }
            ],
        }
    )
