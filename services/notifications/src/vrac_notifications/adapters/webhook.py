"""Webhooks to agencies: JSON POSTed over HTTPS to a checked, pinned address, signed per the
Standard Webhooks scheme.

Headers: ``webhook-id`` (the notification id, stable across retries: deduplicate on it),
``webhook-timestamp`` (Unix seconds of this attempt), ``webhook-signature`` (``v1,<base64 of
HMAC-SHA256 over id.timestamp.body>``, one per valid secret, space separated) and
``X-VRAC-Event`` (the message kind). ``X-VRAC-Delivery`` repeats ``webhook-id``.

Before every connection the URL's host is resolved and each address checked against the
destination rules; the connection then goes to the checked address (the URL keeps the name
for the Host header and for TLS: SNI and the certificate check), so a DNS answer that changes
between the check and the connection (rebinding) cannot reach another host.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import httpx
from standardwebhooks import Webhook
from vrac_contracts.values import DeliveryError

from vrac_notifications.domain.delivery import DeliveryProblem
from vrac_notifications.domain.destinations import DestinationRules, IPAddress
from vrac_notifications.domain.errors import RefusedDestination, UnresolvedDestination
from vrac_notifications.ports import Hook

# statuses that say "try again later"; any other 4xx (and any 3xx: no redirect is followed)
# is the agency refusing the message
_RETRYABLE = frozenset({408, 425, 429})

Resolve = Callable[[str, int], Awaitable[Sequence[str]]]
"""The addresses a host name resolves to, for a port; raises OSError when it does not."""


async def resolve_host(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class DestinationGuard:
    """Checks a webhook URL and every address its host resolves to. ``resolve`` is the hook
    tests use to answer as a rebinding DNS server would."""

    def __init__(self, rules: DestinationRules, resolve: Resolve = resolve_host) -> None:
        self._rules = rules
        self._resolve = resolve

    async def check(self, url: str) -> list[IPAddress]:
        """The addresses to connect to; raises RefusedDestination (UnresolvedDestination when
        the name does not resolve)."""
        refusal = self._rules.url_refusal(url)
        if refusal:
            raise RefusedDestination(refusal)
        parts = urlsplit(url)
        host = parts.hostname or ""
        addresses = _literal(host)
        if addresses is None:
            try:
                answers = await self._resolve(host, parts.port or _default_port(parts.scheme))
            except (OSError, UnicodeError):
                raise UnresolvedDestination() from None
            # a scoped IPv6 answer (fe80::1%eth0) carries its zone after '%'
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in answers]
        if not addresses:
            raise UnresolvedDestination()
        for address in addresses:
            refusal = self._rules.address_refusal(address)
            if refusal:
                raise RefusedDestination(refusal)
        return addresses


def _literal(host: str) -> list[IPAddress] | None:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return None


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


class PinnedTransport(httpx.AsyncBaseTransport):
    """Checks the destination of each request and connects to the address it checked: the
    request's URL gets that address, while its Host header and the TLS server name (SNI,
    and so the certificate check) keep the registered host name."""

    def __init__(self, guard: DestinationGuard, inner: httpx.AsyncBaseTransport) -> None:
        self._guard = guard
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        addresses = await self._guard.check(str(request.url))
        host = request.url.host
        pinned = str(addresses[0])
        if pinned != host:
            request.url = request.url.copy_with(host=pinned)  # Host header was set from the name
            request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def signature_headers(
    message_id: str, secrets: Sequence[str], body: bytes, now: dt.datetime
) -> dict[str, str]:
    """The Standard Webhooks headers: one ``v1`` signature per secret over
    ``message_id.timestamp.body``."""
    at = dt.datetime.fromtimestamp(int(now.timestamp()), dt.UTC)  # whole seconds, as sent
    text = body.decode()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(Webhook(s).sign(message_id, at, text) for s in secrets),
    }


def encode_body(hook: Hook) -> bytes:
    return json.dumps(hook.body, ensure_ascii=False, separators=(",", ":")).encode()


Now = Callable[[], dt.datetime]


class HttpHookPoster:
    """POSTs within one total deadline: httpx's own timeouts apply per read, so an endpoint
    that trickles a byte every few seconds would otherwise hold the attempt indefinitely.
    ``make_transport`` makes what reaches the network under the pinning, once per POST."""

    def __init__(
        self,
        timeout_seconds: float,
        guard: DestinationGuard,
        *,
        make_transport: Callable[[], httpx.AsyncBaseTransport] = httpx.AsyncHTTPTransport,
        now: Now = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._timeout = timeout_seconds
        self._guard = guard
        self._make_transport = make_transport
        self._now = now

    async def post(self, hook: Hook) -> None:
        body = encode_body(hook)
        headers = {
            "Content-Type": "application/json",
            **signature_headers(hook.delivery_id, hook.secrets, body, self._now()),
            "X-VRAC-Delivery": hook.delivery_id,
            "X-VRAC-Event": hook.kind,
            "User-Agent": "vrac-notifications",
        }
        transport = PinnedTransport(self._guard, self._make_transport())
        try:
            # no redirects: a signed body goes only where the agency registered
            async with (
                asyncio.timeout(self._timeout),
                httpx.AsyncClient(
                    transport=transport, timeout=self._timeout, follow_redirects=False
                ) as client,
            ):
                reply = await client.post(hook.url, content=body, headers=headers)
        except UnresolvedDestination:
            raise DeliveryProblem(DeliveryError.UNREACHABLE, retryable=True) from None
        except RefusedDestination as refused:
            # the address changed since registration, or the rules did: not sent, not retried
            raise DeliveryProblem(
                DeliveryError.INVALID_ADDRESS, retryable=False, detail=refused.problem
            ) from None
        except (TimeoutError, httpx.TimeoutException):
            raise DeliveryProblem(DeliveryError.TIMEOUT, retryable=True) from None
        except httpx.HTTPError as err:
            raise DeliveryProblem(
                DeliveryError.UNREACHABLE, retryable=True, detail=type(err).__name__
            ) from None
        if reply.is_success:
            return
        retryable = reply.status_code >= 500 or reply.status_code in _RETRYABLE
        code = DeliveryError.HTTP_ERROR if retryable else DeliveryError.REJECTED
        raise DeliveryProblem(code, retryable=retryable, detail=f"http {reply.status_code}")
