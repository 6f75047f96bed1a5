"""Personal data on internal topics travels sealed: encrypted with a data key of its owner.

A sealed value is AES-256-GCM ciphertext of one of the plain models below, encrypted with the
data key ``key_id`` that the producing service keeps (one key per case for the child's details,
one per person for a guardian or a network member). A consumer that may read it fetches the
key from the producer; once the case is erased, or the person removed, the producer destroys
the key and every copy of the value (in Kafka, in dead letters, in backups) stays unreadable.
The additional authenticated data binds the ciphertext to its case, key and plain model, so a
sealed value cannot be moved to another case or read as another model. The code that seals and
opens lives in the services' runtime; partners never receive sealed values.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from ..fields import described, personal, personal_email, personal_phone
from ..ids import ID_PATTERN

# base64url without padding: 12 bytes of nonce are 16 characters
_B64URL = r"^[A-Za-z0-9_-]+$"
SEALED_MAX_CHARS = 8192


class Sealed(BaseModel):
    """Encrypted personal data: only its owner's data key opens it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key_id: str = described(
        "Id of the data key: the case id, or the id of the person the data is about.",
        pattern=ID_PATTERN,
        max_length=45,
    )
    alg: Literal["A256GCM"] = described("Cipher: AES-256 in Galois/Counter Mode.")
    nonce: str = described(
        "The 96-bit nonce, base64url without padding.",
        pattern=_B64URL,
        min_length=16,
        max_length=16,
    )
    ciphertext: str = described(
        "Ciphertext and 128-bit tag, base64url without padding.",
        pattern=_B64URL,
        min_length=22,
        max_length=SEALED_MAX_CHARS,
    )


class _Plain(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class ChildDetails(_Plain):
    """What a sealed ``child`` holds (key: the case id)."""

    child_first_name: str = personal("The child's first name.", max_length=80)
    birth_year: int = personal("The child's year of birth.", ge=2000, le=2100)
    school_name: str | None = personal("Name of the child's school.", default=None, max_length=160)


class GuardianDetails(_Plain):
    """What a guardian's sealed ``details`` hold (key: the guardian id)."""

    name: str = personal("Name as the guardian wants to be addressed.", max_length=120)
    email: str | None = personal_email()
    phone: str | None = personal_phone("Phone number in E.164 form, e.g. +31612345678.")


class MemberDetails(_Plain):
    """What a network member's sealed ``details`` hold (key: the member id)."""

    display_name: str = personal("Name to address the member by.", max_length=120)
    relationship: str | None = personal(
        "Relationship to the child in the family's words, e.g. grandmother.",
        default=None,
        max_length=80,
    )
    email: str | None = personal_email()
    phone: str | None = personal_phone()
