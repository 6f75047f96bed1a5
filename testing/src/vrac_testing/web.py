"""The web app on a platform of its own, for browser tests: the five services (mailing to a
real SMTP sink) trusting the real identity provider, and ``python -m vrac_web`` in front of
them, as a deployment wires it.

The web app runs in development mode (its development sign-in page stands beside the real one)
on a free port of loopback; the local realm's web client accepts any such port's callback.
Network's task links and notifications' links point at the web app, so the links in the
e-mails the sink receives open its pages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vrac_testing.identity import IdentityProvider
from vrac_testing.processes import (
    SERVICES,
    Platform,
    ServiceProcess,
    free_port,
    journey_platform,
    wait_ready,
)
from vrac_testing.sinks import SmtpSink

START_SECONDS = 240.0


@dataclass
class WebPlatform:
    platform: Platform
    web: ServiceProcess
    smtp: SmtpSink
    identity: IdentityProvider

    @property
    def url(self) -> str:
        """The web app's base URL, e.g. ``http://127.0.0.1:23456``."""
        return self.web.url


def web_env(
    web: ServiceProcess, platform: Platform, identity: IdentityProvider | None
) -> dict[str, str]:
    """The web app's settings: where the services answer, who signs people in (no identity
    provider: the development sign-in page only), its address."""
    return {
        **os.environ,
        "VRAC_HTTP_PORT": str(web.port),
        "VRAC_SERVICE_URLS": json.dumps({name: platform.url(name) for name in SERVICES}),
        "VRAC_OIDC_ISSUER": identity.issuer if identity is not None else "",
        "VRAC_PUBLIC_URL": web.url,
        "VRAC_DEVELOPMENT": "true",
        "PYTHONUNBUFFERED": "1",
    }


def links_to(web: ServiceProcess) -> dict[str, str]:
    """The services' settings that make the links in their messages open the web app."""
    return {
        "VRAC_TASK_LINK_BASE_URL": web.url,  # network: helpers' task links
        "VRAC_WEB_URL": web.url,  # notifications: the family's link in the guardians' e-mails
    }


def start_web(web: ServiceProcess, env: dict[str, str], timeout: float = 60.0) -> None:
    with web.log.open("ab") as out:
        web.process = subprocess.Popen(
            [sys.executable, "-m", "vrac_web"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    wait_ready(web, timeout)


def stop_web(web: ServiceProcess) -> None:
    if web.process is None:
        return
    if web.process.poll() is None:
        web.process.send_signal(signal.SIGTERM)
    try:
        web.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        web.process.kill()
        web.process.wait()
    web.process = None


@contextmanager
def web_platform(
    kafka_bootstrap: str,
    mongodb_url: str,
    prefix: str,
    folder: Path,
    identity: IdentityProvider,
) -> Iterator[WebPlatform]:
    """The five services under ``prefix`` and the web app, started and ready; stopped after."""
    web = ServiceProcess("web", free_port(), folder / "logs" / "web.log")
    smtp = SmtpSink().start()
    platform = journey_platform(kafka_bootstrap, mongodb_url, prefix, folder, smtp)
    platform.extra_env.update({"VRAC_TRUSTED_ISSUERS": identity.trusted_issuers(), **links_to(web)})
    try:
        # a machine busy with other test runs can take minutes to start six processes
        platform.start(timeout=START_SECONDS)
        start_web(web, web_env(web, platform, identity), START_SECONDS)
        yield WebPlatform(platform, web, smtp, identity)
    finally:
        stop_web(web)
        platform.stop()
        smtp.stop()
