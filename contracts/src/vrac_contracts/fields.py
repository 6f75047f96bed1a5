"""Field helpers: every field is described, and personal data is marked.

The marker ``x-personal-data: true`` lands in the JSON Schema, so partners, the rule tests and
the crypto-shredding code in services can all find personal fields without a side list.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import Field
from pydantic.fields import FieldInfo

PERSONAL_DATA_KEY: Final = "x-personal-data"
EMAIL_PATTERN: Final = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE_PATTERN: Final = r"^\+[1-9][0-9]{6,14}$"


def described(description: str, **kwargs: Any) -> Any:
    """A field that is not personal data; the description is required."""
    return Field(description=description, **kwargs)


def personal(description: str, **kwargs: Any) -> Any:
    """A field holding personal data; may only appear on internal events."""
    return Field(description=description, json_schema_extra={PERSONAL_DATA_KEY: True}, **kwargs)


def personal_email() -> Any:
    """An optional e-mail address: personal data, bounded and roughly checked."""
    return personal("E-mail address.", default=None, max_length=254, pattern=EMAIL_PATTERN)


def personal_phone(description: str = "Phone number in E.164 form.") -> Any:
    """An optional phone number in E.164 form: personal data."""
    return personal(description, default=None, max_length=16, pattern=PHONE_PATTERN)


def is_personal(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get(PERSONAL_DATA_KEY) is True
