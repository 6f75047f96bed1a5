"""Webhooks that cannot be turned against the platform, against the real Kafka and store and
a real HTTP receiver: Standard Webhooks signatures under rotation, destinations refused at
registration, a DNS answer that changes after it (rebinding), and redirects not followed."""

from __future__ import annotations

import contextlib
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from vrac_contracts.events import ConsentRecorded, TaskAssigned
from vrac_notifications.adapters.webhook import DestinationGuard, HttpHookPoster
from vrac_notifications.domain.destinations import DestinationRules
from vrac_testing.polling import eventually
from vrac_testing.sinks import WebhookReceiver

from services.notifications.tests.notifications_testkit import YOUTH_TEAM
from services.notifications.tests.test_notifications_outages import row
from services.notifications.tests.test_notifications_service import (
    AGENCY,
    NEXT_SECRET,
    SECRET,
    Service,
    agency_known,
    event,
    service_factory,
)

pytestmark = pytest.mark.integration
__all__ = ["service_factory"]  # the fixture, shared with the service tests

PUBLIC = "93.184.215.14"  # a public address; nothing is ever sent to it here
HOST = "hooks.agency.test"


async def agency_told_of_a_task(svc: Service, url: str | None = None) -> None:
    """The youth team registered ``url``, may be told about the case, and got a task."""
    await svc.register_webhook(url)
    await svc.publish(event(ConsentRecorded), await svc.member(**YOUTH_TEAM))
    await svc.until_directory("the agency and its consent", agency_known)
    await svc.publish(event(TaskAssigned, assignee_id="mbr_youthteam0001"))


def resolving(*answers: str):
    """A DNS server under an agency's control: each lookup gets the next answer, the last
    one repeated."""
    queue = list(answers)

    async def resolve(host: str, port: int) -> list[str]:
        assert host == HOST
        return [queue.pop(0) if len(queue) > 1 else queue[0]]

    return resolve


def guarded(
    rules: DestinationRules, *answers: str, trust: ssl.SSLContext | None = None
) -> dict[str, Any]:
    """``Deps`` overrides: registration and the poster share one guard on that resolver;
    ``trust`` replaces the system's certificate authorities."""
    guard = DestinationGuard(rules, resolving(*answers))
    transport = (
        httpx.AsyncHTTPTransport
        if trust is None
        else lambda: httpx.AsyncHTTPTransport(verify=trust)
    )
    return {"destinations": guard, "poster": HttpHookPoster(5, guard, make_transport=transport)}


def certificate_for(name: str, folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for ``name``: the receiver's server context, and a client
    context that trusts only that certificate (and checks the host name, as the default)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    (folder / "cert.pem").write_bytes(cert_pem)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client


@contextlib.asynccontextmanager
async def receiving(**behaviour: Any) -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(**behaviour).start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def test_a_rotated_secret_signs_beside_the_previous_one(service_factory) -> None:
    async with service_factory() as svc:
        await agency_told_of_a_task(svc)
        await eventually(lambda: svc.hooks.hooks, "the first webhook", timeout=30)
        [first] = svc.hooks.hooks
        assert len(first.signatures) == 1 and first.signed_with(SECRET)

        await svc.register_webhook(secret=NEXT_SECRET)
        shown = (await svc.http.get(f"/agencies/{AGENCY}/webhook", headers=agency(svc))).json()
        current, previous = shown["signing_secrets"]
        assert current["retires_at"] is None and previous["retires_at"] is not None

        await svc.publish(event(TaskAssigned, assignee_id="mbr_youthteam0001"))
        await eventually(lambda: len(svc.hooks.hooks) == 2, "the second webhook", timeout=30)
        second = svc.hooks.hooks[1]
        # an agency whose receiver still has the old secret, or already the new one, verifies
        assert len(second.signatures) == 2
        assert second.signed_with(NEXT_SECRET) and second.signed_with(SECRET)


def agency(svc: Service) -> dict:
    return svc.token("agency", subject=AGENCY)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1:8443/hooks", "loopback"),
        ("https://localhost/hooks", "loopback"),  # through the real resolver
        ("https://[::1]/hooks", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://10.0.0.12/hooks", "private"),
        (f"http://{PUBLIC}/hooks", "https"),
    ],
)
async def test_registration_outside_development_refuses_what_is_not_public_https(
    service_factory, url: str, problem: str
) -> None:
    async with service_factory(development=False) as svc:
        reply = await svc.put_webhook(url)
        assert reply.status_code == 422, reply.text
        assert reply.json()["detail"].startswith("url:") and problem in reply.json()["detail"]
        missing = await svc.http.get(f"/agencies/{AGENCY}/webhook", headers=agency(svc))
        assert missing.status_code == 404


async def test_a_name_that_rebinds_to_loopback_after_registration_is_not_called(
    service_factory,
) -> None:
    async with receiving() as receiver:
        # public when registered, the receiver's loopback address when the poster connects
        overrides = guarded(DestinationRules(), PUBLIC, "127.0.0.1")
        async with service_factory(development=False, deps=overrides) as svc:
            await agency_told_of_a_task(svc, f"https://{HOST}:{receiver.port}/hooks/vrac")
            failed = await row(svc, lambda r: r["status"] == "failed", "the refusal")
            assert (failed["attempts"], failed["error_code"]) == (1, "invalid-address")
        assert receiver.attempts == 0


async def test_the_connection_goes_to_the_checked_address_under_the_registered_name(
    service_factory,
) -> None:
    async with receiving() as receiver:
        # the name resolves only through the guard's resolver: the POST reaching the receiver
        # shows the connection used the checked address, and the Host header keeps the name
        overrides = guarded(DestinationRules(development=True), "127.0.0.1")
        async with service_factory(deps=overrides) as svc:
            await agency_told_of_a_task(svc, f"http://{HOST}:{receiver.port}/hooks/vrac")
            await row(svc, lambda r: r["status"] == "delivered", "the delivery")
        [hook] = receiver.hooks
        assert receiver.hosts == [f"{HOST}:{receiver.port}"]
        assert hook.signed_with(SECRET)


async def test_a_redirect_is_not_followed(service_factory) -> None:
    async with receiving() as elsewhere, receiving(redirect_to=elsewhere.url) as registered:
        async with service_factory() as svc:
            await agency_told_of_a_task(svc, registered.url)
            failed = await row(svc, lambda r: r["status"] == "failed", "the refusal")
            assert (failed["attempts"], failed["error_code"]) == (1, "rejected")
        assert (registered.attempts, elsewhere.attempts) == (1, 0)


async def test_tls_is_checked_against_the_registered_name_not_the_pinned_address(
    service_factory, tmp_path: Path
) -> None:
    server, trust = certificate_for(HOST, tmp_path)
    async with receiving(tls=server) as receiver:
        # connected to 127.0.0.1, yet SNI and the certificate check use the name: it verifies
        overrides = guarded(DestinationRules(development=True), "127.0.0.1", trust=trust)
        async with service_factory(deps=overrides) as svc:
            await agency_told_of_a_task(svc, f"https://{HOST}:{receiver.port}/hooks/vrac")
            await row(svc, lambda r: r["status"] == "delivered", "the delivery")
        assert receiver.hosts == [f"{HOST}:{receiver.port}"]
        assert receiver.hooks[0].signed_with(SECRET)


async def test_a_certificate_for_another_name_is_not_accepted(
    service_factory, tmp_path: Path
) -> None:
    server, trust = certificate_for("someone-else.example.org", tmp_path)
    async with receiving(tls=server) as receiver:
        overrides = guarded(DestinationRules(development=True), "127.0.0.1", trust=trust)
        async with service_factory(deps=overrides) as svc:
            await agency_told_of_a_task(svc, f"https://{HOST}:{receiver.port}/hooks/vrac")
            retried = await row(svc, lambda r: r["error_code"] == "unreachable", "the failure")
            assert retried["status"] in ("scheduled", "sending")
        assert receiver.attempts == 0
