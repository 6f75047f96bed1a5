"""The diploma as an Open Badges 3.0 credential, and the pilot's revocation list.

Pure: builds the documents (1EdTech Open Badges 3.0 on the W3C Verifiable Credentials data
model 2.0, the status in a Bitstring Status List) and reads a status list; signing and
checking signatures are the adapters'. The child is named only as the family chooses.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from vrac_contracts.values import Pilot

from vrac_screening.domain.diploma import Diploma, DiplomaSheet
from vrac_screening.domain.wording import PILOT_NAMES


@dataclass(frozen=True)
class StatusEntry:
    """A diploma's place in its pilot's revocation list."""

    diploma_id: str
    pilot: str
    index: int
    revoked: bool = False


@dataclass(frozen=True)
class Verdict:
    """What the public check answers: genuine, unaltered and not revoked, or why not."""

    verified: bool
    reason: str | None = None
    credential_id: str | None = None
    issuer: str | None = None
    valid_from: str | None = None


VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT: Final = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# the smallest list the Bitstring Status List recommends, so that one credential's entry
# does not stand out among a handful (herd privacy)
MIN_LIST_BITS: Final = 131_072
REVOCATION: Final = "revocation"
# a namespace of our own for the credentials' UUIDs (derived, so the same diploma and name
# choice always make the same credential)
_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://vrac.eu/credentials")


class NameShown(StrEnum):
    """How much of the child's name the credential carries: the family's choice."""

    FIRST_NAME = "first-name"
    INITIALS = "initials"
    NONE = "none"


def shown_name(first_name: str, choice: NameShown) -> str | None:
    if choice is NameShown.NONE:
        return None
    if choice is NameShown.INITIALS:
        # "Anne-Sophie" -> "A.-S.", "Nguyễn Thị" -> "N. T."
        words = first_name.split()
        return " ".join("-".join(f"{part[:1]}." for part in w.split("-") if part) for w in words)
    return first_name


@dataclass(frozen=True)
class Places:
    """Where the pilot's credential documents live (the service's public address)."""

    base_url: str

    def issuer(self, pilot: str) -> str:
        return f"{self.base_url}/credentials/issuers/{pilot}"

    def status_list(self, pilot: str) -> str:
        return f"{self.base_url}/credentials/status/{pilot}"

    def check(self, diploma_id: str) -> str:
        """The public check a QR code on the diploma leads to."""
        return f"{self.base_url}/credentials/verify?diploma={diploma_id}"

    def pilot_of_issuer(self, issuer_id: str) -> str | None:
        prefix = self.issuer("")
        pilot = issuer_id[len(prefix) :] if issuer_id.startswith(prefix) else ""
        return pilot if pilot in {str(p) for p in Pilot} else None


def _instant(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def issuer_profile(places: Places, pilot: str) -> dict[str, Any]:
    return {
        "id": places.issuer(pilot),
        "type": ["Profile"],
        "name": f"VRAC {PILOT_NAMES[Pilot(pilot)]}",
    }


def open_badge(
    places: Places,
    diploma: Diploma,
    sheet: DiplomaSheet,
    choice: NameShown,
    status_index: int,
) -> dict[str, Any]:
    """The OpenBadgeCredential of a diploma: the diploma is the achievement, each strength a
    result of it (a result description with its label and why it is great)."""
    achievement_id = f"{places.base_url}/credentials/achievements/{diploma.diploma_id}"
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "activityEndDate": _instant(diploma.issued_at),
        "achievement": {
            "id": achievement_id,
            "type": ["Achievement"],
            "achievementType": "Award",
            "name": sheet.title,
            "description": f"{sheet.given_to} ... {sheet.because}: "
            + ", ".join(s.label for s in sheet.strengths),
            "criteria": {"narrative": sheet.because},
            "inLanguage": str(diploma.language),
            "tag": [str(d) for d in diploma.strengths],
            "resultDescription": [
                {
                    "id": f"{achievement_id}#{domain}",
                    "type": ["ResultDescription"],
                    "name": strength.label,
                    "resultType": "Status",
                    "allowedValue": [strength.reason],
                }
                for domain, strength in zip(diploma.strengths, sheet.strengths, strict=True)
            ],
        },
        "result": [
            {
                "type": ["Result"],
                "resultDescription": f"{achievement_id}#{d}",
                "status": "Completed",
            }
            for d in diploma.strengths
        ],
    }
    name = shown_name(sheet.child_first_name, choice)
    if name is not None:
        subject["identifier"] = [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": name,
            }
        ]
    status_list = places.status_list(diploma.pilot)
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{diploma.diploma_id}/{choice}')}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer_profile(places, diploma.pilot),
        "validFrom": _instant(diploma.issued_at),
        "name": f"{sheet.title} - {sheet.signed}",
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{status_list}#{status_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": REVOCATION,
            "statusListIndex": str(status_index),
            "statusListCredential": status_list,
        },
    }


def encode_list(revoked: Iterable[int], issued: int) -> str:
    """The Bitstring Status List's ``encodedList``: bit ``i`` (counted from the left-most bit
    of the first byte) set when entry ``i`` is revoked; GZIP, then multibase base64url."""
    bits = max(MIN_LIST_BITS, -(-issued // 8) * 8)
    data = bytearray(bits // 8)
    for index in revoked:
        data[index // 8] |= 0x80 >> (index % 8)
    packed = gzip.compress(bytes(data), mtime=0)  # mtime 0: the same list, the same bytes
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def is_set(encoded_list: str, index: int) -> bool:
    """Whether entry ``index`` is set in an ``encodedList``; ValueError for a broken list."""
    if not encoded_list.startswith("u"):
        raise ValueError("the status list is not multibase base64url")
    text = encoded_list[1:]
    data = gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    if index < 0 or index >= len(data) * 8:
        raise ValueError("the status entry is outside the list")
    return bool(data[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    places: Places, pilot: str, encoded_list: str, now: dt.datetime
) -> dict[str, Any]:
    url = places.status_list(pilot)
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": places.issuer(pilot),
        "validFrom": _instant(now),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": REVOCATION,
            "encodedList": encoded_list,
        },
    }


def status_of(credential: Mapping[str, Any]) -> tuple[str, int] | None:
    """The status list address and index a credential names; None when it names none
    usable."""
    status = credential.get("credentialStatus")
    if not isinstance(status, dict) or status.get("type") != "BitstringStatusListEntry":
        return None
    url, index = status.get("statusListCredential"), status.get("statusListIndex")
    if status.get("statusPurpose") != REVOCATION or not isinstance(url, str):
        return None
    if not isinstance(index, str) or not index.isdigit():
        return None
    return url, int(index)
