"""Webhook egress without I/O: which addresses a webhook may reach, the Standard Webhooks
signatures, and secret rotation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress

import pytest
from standardwebhooks import Webhook, WebhookVerificationError
from vrac_contracts.values import Pilot
from vrac_notifications.adapters.webhook import DestinationGuard, signature_headers
from vrac_notifications.domain.destinations import DestinationRules, parse_networks
from vrac_notifications.domain.errors import RefusedDestination, UnresolvedDestination
from vrac_notifications.domain.webhooks import MAX_SIGNING_SECRETS, WebhookSubscription

PRODUCTION = DestinationRules()
DEVELOPMENT = DestinationRules(development=True)
OLD = "whsec_" + base64.b64encode(b"the-old-secret-of-an-agency!").decode()
NEW = "whsec_" + base64.b64encode(b"the-new-secret-of-an-agency!").decode()
NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 inside IPv6 is still the host itself
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "public"),  # carrier-grade NAT: not on the internet either
        ("2002:7f00:1::1", "loopback"),  # 6to4 wrapping 127.0.0.1
    ],
)
def test_addresses_that_are_not_public_are_refused(address: str, problem: str) -> None:
    refusal = PRODUCTION.address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and problem in refusal


@pytest.mark.parametrize("address", ["93.184.215.14", "2a00:1450:4007:80f::200e"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert PRODUCTION.address_refusal(ipaddress.ip_address(address)) is None


def test_development_allows_loopback_and_nothing_else_private() -> None:
    assert DEVELOPMENT.address_refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert DEVELOPMENT.address_refusal(ipaddress.ip_address("::1")) is None
    for address in ("169.254.169.254", "10.0.0.1", "fd00::1"):
        assert DEVELOPMENT.address_refusal(ipaddress.ip_address(address)) is not None


def test_the_clusters_ranges_are_refused_even_when_public() -> None:
    rules = DestinationRules(cluster_networks=parse_networks("198.51.100.0/24, 2a05:d018::/32"))
    public_but_ours = ipaddress.ip_address("2a05:d018::17")
    assert "cluster" in (rules.address_refusal(public_but_ours) or "")
    assert rules.address_refusal(ipaddress.ip_address("93.184.215.14")) is None
    with pytest.raises(ValueError, match="not a CIDR"):
        parse_networks("10.0.0.0/8, nonsense")


def test_https_is_required_outside_development() -> None:
    assert PRODUCTION.url_refusal("http://agency.example.org/h") == "must be an https URL"
    assert PRODUCTION.url_refusal("https://agency.example.org/h") is None
    assert DEVELOPMENT.url_refusal("http://127.0.0.1:8080/h") is None
    assert PRODUCTION.url_refusal("ftp://agency.example.org/h") is not None


def answering(*answers: list[str]):
    """A resolver giving each answer in turn, as a DNS server under an attacker's control."""
    queue = list(answers)
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return queue.pop(0)

    resolve.asked = asked  # type: ignore[attr-defined]
    return resolve


async def test_a_name_is_refused_when_any_of_its_addresses_is_not_public() -> None:
    guard = DestinationGuard(PRODUCTION, answering(["93.184.215.14", "10.0.0.7"]))
    with pytest.raises(RefusedDestination, match="private"):
        await guard.check("https://agency.example.org/h")


async def test_the_guard_resolves_the_urls_host_and_port() -> None:
    resolve = answering(["93.184.215.14"], ["93.184.215.14"])
    guard = DestinationGuard(PRODUCTION, resolve)
    assert await guard.check("https://agency.example.org/h") == [
        ipaddress.ip_address("93.184.215.14")
    ]
    await guard.check("https://agency.example.org:8443/h")
    assert resolve.asked == [("agency.example.org", 443), ("agency.example.org", 8443)]  # type: ignore[attr-defined]


async def test_an_address_literal_is_checked_without_asking_dns() -> None:
    guard = DestinationGuard(PRODUCTION, answering())
    with pytest.raises(RefusedDestination, match="link-local"):
        await guard.check("https://169.254.169.254/latest/meta-data")
    with pytest.raises(RefusedDestination, match="loopback"):
        await guard.check("https://[::1]:8443/h")


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnresolvedDestination) as refused:
        await DestinationGuard(PRODUCTION, nxdomain).check("https://nowhere.example.org/h")
    assert refused.value.field == "url"


def test_each_secret_signs_id_timestamp_and_body_per_standard_webhooks() -> None:
    body = b'{"notification_id":"ntf_1","text":"Fijn dat je helpt \xe2\x80\x94 dank"}'
    at = dt.datetime(2025, 3, 14, 9, 30, 5, 700_000, tzinfo=dt.UTC)
    headers = signature_headers("ntf_1", (NEW, OLD), body, at)
    assert headers["webhook-id"] == "ntf_1"
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    signatures = headers["webhook-signature"].split(" ")
    for secret, signature in zip((NEW, OLD), signatures, strict=True):
        # recomputed from the scheme with the standard library alone
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = b"ntf_1." + headers["webhook-timestamp"].encode() + b"." + body
        digest = hmac.new(key, signed, hashlib.sha256).digest()
        assert signature == "v1," + base64.b64encode(digest).decode()


def test_a_receiver_with_either_secret_verifies_and_a_changed_part_fails() -> None:
    body = b'{"notification_id":"ntf_1"}'
    headers = signature_headers("ntf_1", (NEW, OLD), body, dt.datetime.now(dt.UTC))
    for secret in (NEW, OLD):
        assert Webhook(secret).verify(body, headers) == {"notification_id": "ntf_1"}
    other = "whsec_" + base64.b64encode(b"a-secret-nobody-registered").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)
    replayed_as_other = headers | {"webhook-id": "ntf_2"}
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(body, replayed_as_other)
    later = headers | {"webhook-timestamp": str(int(headers["webhook-timestamp"]) + 60)}
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(body, later)  # the timestamp is signed too


def registered(secret: str = OLD) -> WebhookSubscription:
    return WebhookSubscription.new(
        agency_id="agy_youthteam0001",
        pilot=Pilot.LEIDEN,
        url="https://agency.example.org/h",
        secret=secret,
        now=NOW,
    )


def test_a_new_secret_signs_beside_the_previous_one_for_the_overlap() -> None:
    later = NOW + dt.timedelta(hours=1)
    rotated = registered().registered(
        pilot=Pilot.LEIDEN, url="https://agency.example.org/h", secret=NEW, now=later, overlap=DAY
    )
    assert rotated.signing_secrets(later) == (NEW, OLD)
    assert rotated.signing_secrets(later + DAY - dt.timedelta(seconds=1)) == (NEW, OLD)
    assert rotated.signing_secrets(later + DAY) == (NEW,)


def test_registering_the_same_secret_again_keeps_the_overlap_as_it_was() -> None:
    rotated = registered().registered(
        pilot=Pilot.LEIDEN, url="https://agency.example.org/h", secret=NEW, now=NOW, overlap=DAY
    )
    moved = rotated.registered(
        pilot=Pilot.LEIDEN, url="https://new.example.org/h", secret=NEW, now=NOW, overlap=DAY
    )
    assert moved.url == "https://new.example.org/h"
    assert moved.secrets == rotated.secrets


def test_no_overlap_retires_the_previous_secret_at_once() -> None:
    rotated = registered().registered(
        pilot=Pilot.LEIDEN,
        url="https://a.example.org/h",
        secret=NEW,
        now=NOW,
        overlap=dt.timedelta(0),
    )
    assert rotated.signing_secrets(NOW) == (NEW,)


def test_quick_rotations_keep_at_most_the_newest_secrets() -> None:
    subscription = registered()
    secrets = [
        f"whsec_{base64.b64encode(f'secret-number-{n}-of-the-agency'.encode()).decode()}"
        for n in range(5)
    ]
    for secret in secrets:
        subscription = subscription.registered(
            pilot=Pilot.LEIDEN, url="https://a.example.org/h", secret=secret, now=NOW, overlap=DAY
        )
    assert subscription.signing_secrets(NOW) == tuple(reversed(secrets))[:MAX_SIGNING_SECRETS]
