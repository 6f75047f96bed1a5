"""Real receivers for what the platform sends: an SMTP server and a webhook endpoint.

Both listen on 127.0.0.1 on a free port and keep what they received, so tests (and the
demo) can show and check the e-mails and webhooks that went out. Fault tests take them away
and bring them back on the same port: ``SmtpSink.stop()`` then ``start()`` closes and reopens
the port; ``WebhookReceiver.unavailable`` makes the endpoint answer 503 meanwhile.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vrac_testing.processes import free_port


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    received_at: float = field(default_factory=time.monotonic)

    @property
    def notification_id(self) -> str:
        """The delivery id the sender put in ``X-VRAC-Notification``."""
        return str(self.message["X-VRAC-Notification"] or "")

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class SmtpSink:
    """An aiosmtpd SMTP server that keeps every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[ReceivedMail] = []
        self._controller: Any = None

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                sink.messages.append(
                    ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
                )
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address in m.recipients]


@dataclass
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.monotonic)
    received_wall: float = field(default_factory=time.time)

    @property
    def json(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found

    def signed_with(self, secret: str, max_age_seconds: float = 300) -> bool:
        """True when a ``v1`` signature of ``webhook-signature`` is the Standard Webhooks
        HMAC-SHA256 of ``webhook-id.webhook-timestamp.body`` under ``secret`` (``whsec_`` +
        base64 of the key) and the timestamp is within ``max_age_seconds`` of receipt. Written
        from the scheme with the standard library, apart from the sender's implementation."""
        msg_id = self.headers.get("webhook-id", "")
        stamp = self.headers.get("webhook-timestamp", "")
        if not (msg_id and stamp.isdigit()):
            return False
        if abs(self.received_wall - int(stamp)) > max_age_seconds:
            return False
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = msg_id.encode() + b"." + stamp.encode() + b"." + self.body
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        return any(
            version == "v1" and hmac.compare_digest(value, expected)
            for version, _, value in (
                part.partition(",") for part in self.headers.get("webhook-signature", "").split()
            )
        )

    @property
    def signatures(self) -> list[str]:
        return self.headers.get("webhook-signature", "").split()


@dataclass
class WebhookReceiver:
    """An HTTP server that records every POST; ``fail_first`` answers 503 that many times,
    and so does every POST while ``unavailable`` is true. ``statuses`` are answered first, in
    order (a 2xx among them records the hook); ``trickle`` answers 200 and then sends its body
    one byte every ``trickle`` seconds, recording nothing; ``redirect_to`` answers every POST
    with a 307 to that URL, recording nothing. ``hosts`` keeps the Host header of each POST.
    With ``tls`` (a server-side SSL context holding a certificate) it speaks HTTPS."""

    fail_first: int = 0
    unavailable: bool = False
    statuses: list[int] = field(default_factory=list)
    trickle: float = 0.0
    redirect_to: str = ""
    tls: ssl.SSLContext | None = None
    hooks: list[ReceivedHook] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    attempts: int = 0
    port: int = field(default_factory=free_port)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}/hooks/vrac"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.attempts += 1
                receiver.hosts.append(self.headers.get("host", ""))
                if receiver.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", receiver.redirect_to)
                    self.end_headers()
                    return
                if receiver.trickle:
                    self._trickle()
                    return
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                if receiver.unavailable or receiver.attempts <= receiver.fail_first:
                    status = 503
                if status < 300:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.hooks.append(ReceivedHook(self.path, headers, body))
                self.send_response(status)
                self.end_headers()

            def _trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "200")
                self.end_headers()
                try:
                    for _ in range(200):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                        time.sleep(receiver.trickle)
                except OSError:
                    pass  # the client hung up, as it should

            def log_message(self, *_: object) -> None:
                pass  # quiet: tests read ``hooks`` instead

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
