"""The diploma as an Open Badges 3.0 credential: signed by the pilot's issuer key, checked by
anyone, revoked when the family withdraws diploma consent (the handlers on the fakes)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import jwt
import pytest
from vrac_contracts import values as vocab
from vrac_runtime.auth import SigningKeys
from vrac_screening import handlers
from vrac_screening.adapters.credentials import (
    ALTERED,
    FOREIGN,
    MALFORMED,
    CredentialIssuer,
    parse_issuer_keys,
)
from vrac_screening.domain.credential import (
    MIN_LIST_BITS,
    NameShown,
    Places,
    encode_list,
    is_set,
    shown_name,
)
from vrac_screening.domain.errors import DiplomaNotShared, NoIssuerKey, UnknownDiploma

from services.screening.tests.fakes import PLACES, World
from services.screening.tests.test_screening_handlers import (
    Anyone,
    closed,
    give,
    issued_diploma,
    register,
    w,
)

__all__ = ["w"]  # the fixture, shared with the handlers' tests

LATER = dt.datetime(2025, 3, 14, 10, 30, tzinfo=dt.UTC)


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def with_payload(token: str, payload: dict[str, Any]) -> str:
    """The token with another payload and its original signature."""
    header, _, signature = token.split(".")
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


async def test_a_credential_names_the_strengths_and_verifies(w: World) -> None:
    diploma_id = await issued_diploma(w)
    token = await handlers.get_credential(w.deps, diploma_id, Anyone())
    assert jwt.get_unverified_header(token)["typ"] == "vc+jwt"
    badge = claims(token)
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["issuer"]["id"] == "https://screening.vrac.example/credentials/issuers/leiden"
    subject = badge["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == "Sam"
    achievement = subject["achievement"]
    assert achievement["tag"] == ["working-memory"]
    assert [r["name"] for r in achievement["resultDescription"]] == ["Retenir les choses"]
    assert badge["credentialStatus"]["statusListCredential"] == PLACES.status_list("leiden")

    verdict = await handlers.verify_credential(w.deps, token)
    assert verdict.verified and verdict.reason is None
    assert verdict.issuer == "VRAC Leiden" and verdict.credential_id == badge["id"]


async def test_one_character_changed_fails_the_check(w: World) -> None:
    token = await handlers.get_credential(w.deps, await issued_diploma(w), Anyone())
    badge = claims(token)
    badge["credentialSubject"]["identifier"][0]["identityHash"] = "Pam"  # Sam -> Pam
    verdict = await handlers.verify_credential(w.deps, with_payload(token, badge))
    assert not verdict.verified and verdict.reason == ALTERED

    # one character of the signature, and one of the encoded payload
    head, body, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert not (await handlers.verify_credential(w.deps, f"{head}.{body}.{flipped}")).verified
    odd = body[:40] + ("x" if body[40] != "x" else "y") + body[41:]
    verdict = await handlers.verify_credential(w.deps, f"{head}.{odd}.{signature}")
    assert not verdict.verified and verdict.reason in (ALTERED, MALFORMED)


async def test_a_credential_of_another_issuer_or_no_credential_at_all_fails(w: World) -> None:
    token = await handlers.get_credential(w.deps, await issued_diploma(w), Anyone())
    stranger = CredentialIssuer(
        Places("https://elsewhere.example"),
        parse_issuer_keys(json.dumps({"leiden": SigningKeys.generate().private_jwks()})),
    )
    forged = stranger.sign("leiden", claims(token))  # same content, another key
    verdict = await handlers.verify_credential(w.deps, forged)
    assert not verdict.verified and verdict.reason == "signed with a key its issuer does not hold"
    badge = claims(token)
    badge["issuer"]["id"] = "https://elsewhere.example/credentials/issuers/leiden"
    verdict = await handlers.verify_credential(w.deps, stranger.sign("leiden", badge))
    assert verdict.reason == FOREIGN
    assert (await handlers.verify_credential(w.deps, "not-a-jwt")).reason == MALFORMED


async def test_withdrawn_diploma_consent_revokes_the_credential(w: World) -> None:
    diploma_id = await issued_diploma(w)
    token = await handlers.get_credential(w.deps, diploma_id, Anyone())
    await give(w, vocab.ConsentPurpose.DIPLOMA, granted=False, at=LATER)

    verdict = await handlers.verify_credential(w.deps, token)
    assert not verdict.verified and verdict.reason == handlers.REVOKED
    with pytest.raises(DiplomaNotShared):
        await handlers.get_credential(w.deps, diploma_id, Anyone())
    assert (await handlers.check_diploma(w.deps, diploma_id)).reason == handlers.REVOKED

    # granted again: a new credential verifies, the revoked one stays revoked
    await give(w, vocab.ConsentPurpose.DIPLOMA, at=LATER + dt.timedelta(hours=1))
    again = await handlers.get_credential(w.deps, diploma_id, Anyone())
    assert (await handlers.verify_credential(w.deps, again)).verified
    assert not (await handlers.verify_credential(w.deps, token)).verified


async def test_an_older_withdrawal_arriving_late_revokes_nothing(w: World) -> None:
    diploma_id = await issued_diploma(w)  # consent granted at NOW
    token = await handlers.get_credential(w.deps, diploma_id, Anyone())
    await give(w, vocab.ConsentPurpose.DIPLOMA, granted=False, at=LATER - dt.timedelta(hours=2))
    assert (await handlers.verify_credential(w.deps, token)).verified


async def test_erasure_revokes_the_credential_and_forgets_the_case(w: World) -> None:
    diploma_id = await issued_diploma(w)
    token = await handlers.get_credential(w.deps, diploma_id, Anyone())
    await handlers.close_case(w.deps, closed(vocab.CloseReason.ERASURE_REQUESTED))
    assert not (await handlers.verify_credential(w.deps, token)).verified
    assert all(case is None for _, case, _ in w.statuses.entries.values())
    with pytest.raises(UnknownDiploma):
        await handlers.get_credential(w.deps, diploma_id, Anyone())
    assert (await handlers.check_diploma(w.deps, diploma_id)).reason == handlers.UNKNOWN


async def test_the_family_chooses_how_the_child_is_named(w: World) -> None:
    diploma_id = await issued_diploma(w)
    await register(w, "Anne-Sophie Nguyễn")
    names = {}
    for choice in NameShown:
        token = await handlers.get_credential(w.deps, diploma_id, Anyone(), choice)
        names[choice] = claims(token)["credentialSubject"].get("identifier")
        assert (await handlers.verify_credential(w.deps, token)).verified
    assert names[NameShown.FIRST_NAME][0]["identityHash"] == "Anne-Sophie Nguyễn"
    assert names[NameShown.INITIALS][0]["identityHash"] == "A.-S. N."
    assert names[NameShown.NONE] is None
    assert shown_name("محمد", NameShown.INITIALS) == "م."


async def test_the_qr_check_of_a_diploma_names_no_one_and_verifies(w: World) -> None:
    diploma_id = await issued_diploma(w)
    verdict = await handlers.check_diploma(w.deps, diploma_id)
    assert verdict.verified
    assert (await handlers.check_diploma(w.deps, "dip_unknown")).reason == handlers.UNKNOWN


async def test_a_pilot_without_an_issuer_key_issues_no_credential(w: World) -> None:
    w.deps.issuer = CredentialIssuer(PLACES, {})
    with pytest.raises(NoIssuerKey):
        await handlers.get_credential(w.deps, await issued_diploma(w), Anyone())


def test_the_status_list_sets_exactly_the_revoked_entries() -> None:
    encoded = encode_list([0, 9, 131_071], issued=20)
    assert [i for i in range(20) if is_set(encoded, i)] == [0, 9]
    assert is_set(encoded, MIN_LIST_BITS - 1)
    with pytest.raises(ValueError):
        is_set(encoded, MIN_LIST_BITS)
    assert encode_list([], issued=200_000) != encode_list([], issued=20)  # the list grows


async def test_the_status_list_credential_is_signed_by_the_pilot(w: World) -> None:
    diploma_id = await issued_diploma(w)
    token = await handlers.get_credential(w.deps, diploma_id, Anyone())
    index = int(claims(token)["credentialStatus"]["statusListIndex"])
    await give(w, vocab.ConsentPurpose.DIPLOMA, granted=False, at=LATER)
    listed = await handlers.status_list(w.deps, "leiden")
    key = jwt.PyJWK(w.deps.issuer.public_jwks("leiden")["keys"][0])
    document = jwt.decode(listed, key, algorithms=["EdDSA"])
    assert document["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert is_set(document["credentialSubject"]["encodedList"], index)
