"""The JWKS cache against a real HTTP server: made-up key ids cannot turn into a flood of
requests to the issuer, and an issuer that is away leaves the keys already fetched in use."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from vrac_runtime.auth import JwksKeys, KeysUnavailable, SigningKeys

KEYS = SigningKeys.generate("k1")


class Issuer:
    def __init__(self) -> None:
        self.requests = 0
        self.up = True
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the standard library's name
                owner.requests += 1
                body = json.dumps(KEYS.public_jwks()).encode()
                self.send_response(200 if owner.up else 503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    served = Issuer()
    yield served
    served.server.shutdown()
    served.server.server_close()


async def test_unknown_kids_fetch_the_document_at_most_once_per_refresh_interval(issuer) -> None:
    now = [0.0]
    async with httpx.AsyncClient() as http:
        keys = JwksKeys(issuer.url, lambda: http, 3600, 30, clock=lambda: now[0])
        assert await keys.key("k1") is not None
        for n in range(20):
            assert await keys.key(f"made-up-{n}") is None
        assert issuer.requests == 1
        now[0] = 31.0  # the refresh interval passed: one more fetch for an unknown kid
        assert await keys.key("made-up-again") is None
        assert await keys.key("made-up-once-more") is None
        assert issuer.requests == 2


async def test_an_issuer_away_keeps_the_keys_fetched_and_refuses_without_any(issuer) -> None:
    now = [0.0]
    async with httpx.AsyncClient() as http:
        keys = JwksKeys(issuer.url, lambda: http, 60, 0, clock=lambda: now[0])
        assert await keys.key("k1") is not None
        issuer.up = False
        now[0] = 120.0  # stale: fetched again, fails, the cached keys stay
        assert await keys.key("k1") is not None
        never = JwksKeys(issuer.url, lambda: http, 60, 0)
        with pytest.raises(KeysUnavailable):
            await never.key("k1")
