"""Field helpers: every field is described, and personal data is marked.

The marker ``x-personal-data: true`` lands in the JSON Schema, so partners, the rule tests and
the crypto-shredding code in services can all find personal fields without a side list.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field
from pydantic.fields import FieldInfo

PERSONAL_DATA_KEY: Final = "x-personal-data"


def described(description: str, **kwargs: Any) -> Any:
    """A field that is not personal data; the description is required."""
    return Field(description=description, **kwargs)


def personal(description: str, **kwargs: Any) -> Any:
    """A field holding personal data; may only appear on internal events."""
    return Field(description=description, json_schema_extra={PERSONAL_DATA_KEY: True}, **kwargs)


def is_personal(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get(PERSONAL_DATA_KEY) is True
