"""The diploma's credential on the real Kafka and FerretDB: fetched by the coach and through
the family's link, checked by anyone without a token, revoked when the parents withdraw
diploma consent (intake's event), and the PDF's QR code leading to the check."""

from __future__ import annotations

import io

import jwt
import pytest
from pypdf import PdfReader

from services.screening.tests.test_screening_service import new_link

pytestmark = pytest.mark.integration

CASE = "case_credentialjourney1"
VC_JWT = "application/vc+jwt"


async def test_a_credential_verifies_until_the_parents_withdraw_diploma_consent(
    screening,
) -> None:
    await screening.open_case(CASE, name="Łucja Wójcik", language="en")
    await screening.screen(CASE)
    [diploma] = await screening.wait_for_diplomas(CASE)
    path = f"/diplomas/{diploma['diploma_id']}/credential"

    assert (await screening.http.get(path)).status_code == 401
    fetched = await screening.http.get(path, headers=screening.auth())
    assert fetched.status_code == 200 and fetched.headers["content-type"] == VC_JWT
    token = fetched.text
    named = jwt.decode(token, options={"verify_signature": False})["credentialSubject"]
    assert named["identifier"][0]["identityHash"] == "Łucja Wójcik"

    # the family, through the link it got to the diploma, asks for initials only
    link = (await new_link(screening, diploma["diploma_id"]))["token"]
    family = await screening.http.get(path, params={"link": link, "name": "initials"})
    assert family.status_code == 200, family.text
    initials = jwt.decode(family.text, options={"verify_signature": False})["credentialSubject"]
    assert initials["identifier"][0]["identityHash"] == "Ł. W."

    async def verdict(credential: str) -> dict:
        answer = await screening.http.post("/credentials/verify", json={"credential": credential})
        assert answer.status_code == 200, answer.text
        result: dict = answer.json()
        return result

    assert (await verdict(token))["verified"] is True
    assert (await verdict(family.text))["verified"] is True
    altered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    refused = await verdict(altered)
    assert refused["verified"] is False and "signature does not match" in refused["reason"]

    await screening.publish(screening.consent(CASE, "diploma", False, "2025-04-01T10:00:00Z"))

    async def revoked() -> bool:
        return (await verdict(token))["reason"] == "the credential was revoked by its issuer"

    await screening.eventually(revoked, "the credential to be revoked")
    assert (await verdict(family.text))["verified"] is False
    assert (await screening.http.get(path, headers=screening.auth())).status_code == 409


async def test_the_status_list_is_signed_with_the_key_the_issuer_publishes(screening) -> None:
    await screening.open_case(CASE, name="Ayşe", language="nl")
    await screening.screen(CASE)
    [diploma] = await screening.wait_for_diplomas(CASE)
    path = f"/diplomas/{diploma['diploma_id']}/credential"
    token = (await screening.http.get(path, headers=screening.auth())).text
    status = jwt.decode(token, options={"verify_signature": False})["credentialStatus"]
    assert status["statusListCredential"].endswith("/credentials/status/leiden")

    issuer = (await screening.http.get("/credentials/issuers/leiden")).json()
    assert issuer["name"] == "VRAC Leiden"
    listed = await screening.http.get("/credentials/status/leiden")
    assert listed.status_code == 200 and listed.headers["content-type"] == VC_JWT
    key = jwt.PyJWK(issuer["publicKeys"]["keys"][0])
    document = jwt.decode(listed.text, key, algorithms=["EdDSA"])
    assert document["credentialSubject"]["statusPurpose"] == "revocation"


async def test_the_qr_code_on_the_pdf_opens_the_public_check(screening) -> None:
    await screening.open_case(CASE, name="محمد", language="fr")
    await screening.screen(CASE)
    [diploma] = await screening.wait_for_diplomas(CASE)
    pdf = await screening.http.get(diploma["pdf_url"], headers=screening.auth())
    page = PdfReader(io.BytesIO(pdf.content)).pages[0]
    text = " ".join((page.extract_text() or "").split())
    check = f"{screening.settings.public_url}/credentials/verify?diploma={diploma['diploma_id']}"
    assert "محمد" in text and check in text
    assert len(page.images) == 1  # the QR code (its modules are compared in the PDF tests)

    answer = await screening.http.get(check.removeprefix(screening.settings.public_url))
    assert answer.status_code == 200 and answer.json()["verified"] is True
    unknown = await screening.http.get("/credentials/verify", params={"diploma": "dip_nobody"})
    assert unknown.json()["verified"] is False
