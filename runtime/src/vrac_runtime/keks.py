"""Key-encryption keys: they wrap the data keys a service keeps in its store.

Kept apart from :mod:`vrac_runtime.sealing` so the settings can check them without the HTTP
and store imports.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
# a well-known value for local runs; a service that starts with it says so in its log
DEVELOPMENT_KEK: Final = "dev:" + base64.urlsafe_b64encode(
    b"vrac-development-kek-not-secret!"
).decode().rstrip("=")


class KeyUnwrapFailed(Exception):
    """A wrapped data key does not unwrap: its KEK was retired, or the store was altered."""


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyEncryptionKeys:
    """The KEKs that wrap data keys in the store: the first wraps new keys, the others still
    unwrap keys not yet re-wrapped (rotation: add a new first KEK, re-wrap, drop the old one
    once no backup older than the re-wrap is kept)."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str) -> KeyEncryptionKeys:
        """``kid:base64url-of-32-bytes[,kid:...]``; ValueError naming what is wrong."""
        keys = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            kid, sep, encoded = part.partition(":")
            if not sep or not kid:
                raise ValueError("each key-encryption key is written kid:base64url")
            try:
                key = unb64(encoded)
            except ValueError:
                raise ValueError(f"key-encryption key {kid} is not base64url") from None
            if len(key) != KEY_BYTES:
                raise ValueError(f"key-encryption key {kid} is not {KEY_BYTES} bytes")
            keys.append((kid, key))
        if not keys:
            raise ValueError("no key-encryption key is set")
        return cls(tuple(keys))

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[0]

    def wrap(self, key_id: str, data_key: bytes) -> dict[str, str]:
        kid, kek = self.current
        nonce = os.urandom(NONCE_BYTES)
        wrapped = AESGCM(kek).encrypt(nonce, data_key, key_id.encode())
        return {"kek": kid, "wrapped": b64(nonce + wrapped)}

    def unwrap(self, key_id: str, doc: Mapping[str, Any]) -> bytes:
        kek = dict(self.keys).get(str(doc.get("kek")))
        if kek is None:
            raise KeyUnwrapFailed(f"data key {key_id} is wrapped by a retired key-encryption key")
        blob = unb64(str(doc["wrapped"]))
        try:
            return AESGCM(kek).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise KeyUnwrapFailed(f"data key {key_id} does not unwrap") from None
