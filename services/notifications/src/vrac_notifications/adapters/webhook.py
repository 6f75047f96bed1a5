"""Webhooks to agencies: JSON POSTed over HTTP, signed with HMAC-SHA256 over the exact body.

Headers: ``X-VRAC-Signature: sha256=<hex HMAC of the body under the agency's secret>``,
``X-VRAC-Timestamp`` (Unix seconds; the body's ``sent_at`` is the signed copy of it),
``X-VRAC-Delivery`` (the notification id, stable across retries: deduplicate on it) and
``X-VRAC-Event`` (the message kind).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import httpx
from vrac_contracts.values import DeliveryError

from vrac_notifications.domain.delivery import DeliveryProblem
from vrac_notifications.ports import Hook

SIGNATURE_HEADER = "X-VRAC-Signature"
# statuses that say "try again later"; any other 4xx is the agency refusing the message
_RETRYABLE = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode_body(hook: Hook) -> bytes:
    return json.dumps(hook.body, ensure_ascii=False, separators=(",", ":")).encode()


class HttpHookPoster:
    """POSTs within one total deadline: httpx's own timeouts apply per read, so an endpoint
    that trickles a byte every few seconds would otherwise hold the attempt indefinitely."""

    def __init__(self, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds

    async def post(self, hook: Hook) -> None:
        body = encode_body(hook)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(hook.secret, body),
            "X-VRAC-Timestamp": str(int(time.time())),
            "X-VRAC-Delivery": hook.delivery_id,
            "X-VRAC-Event": hook.kind,
            "User-Agent": "vrac-notifications",
        }
        try:
            # no redirects: a signed body goes only where the agency registered
            async with (
                asyncio.timeout(self._timeout),
                httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client,
            ):
                reply = await client.post(hook.url, content=body, headers=headers)
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
