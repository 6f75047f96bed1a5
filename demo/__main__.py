"""``make demo``: one Leiden PIT case through the five services, as separate processes.

Starts the services against the local stack, a real SMTP server and a webhook receiver for the
youth team, then walks the case through intake, consent, screening, diploma, the network, tasks,
notifications, the pilot report, the audit trail's answer for the case and, last, its erasure
(the steps of ``demo.scenario``, which the end-to-end test walks too), printing what happened
at each step. It also starts the web app and prints where the coach and the parents open the
case in a browser; ``make demo KEEP=1`` leaves the case unerased and keeps everything running
until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

from vrac_testing.infrastructure import local_stack_ports, repo_root
from vrac_testing.processes import Platform, ServiceProcess, free_port
from vrac_testing.sinks import SmtpSink, WebhookReceiver
from vrac_testing.web import links_to, start_web, stop_web, web_env

from demo.scenario import (
    DemoFailed,
    Journey,
    PitCase,
    erase,
    family_advice,
    family_link,
    measure_wellbeing,
    network_figures,
    overdue_notice,
    walk,
)

WEB_PORT = 8000


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def say(line: str) -> None:
    print(line, flush=True)


async def show_the_case(
    platform: Platform, smtp: SmtpSink, hooks: WebhookReceiver, out: Path, web: ServiceProcess
) -> None:
    async with PitCase(platform, smtp, hooks, out) as pit:
        journey = await walk(pit, step=step, say=say)
        step("notifications to the family: the screening's advice, under its consent")
        await family_advice(pit, say=say)
        step("the network in figures: the plan's measure, and the report's hidden cells")
        await network_figures(pit, journey, say=say)
        await measure_wellbeing(pit, journey, step=step, say=say)
        step("an overdue task: its helper is reminded, the spider in the web told")
        await overdue_notice(pit, journey, say=say)
        await show_the_web_app(pit, journey, web)
        if keep_running():
            return  # the case stays, for the newcomer to open in the browser
        await erase(pit, journey, step=step, say=say)


def keep_running() -> bool:
    """``make demo KEEP=1``: everything stays up for the newcomer to click through."""
    return os.environ.get("VRAC_DEMO_KEEP", "") not in ("", "0")


async def show_the_web_app(pit: PitCase, journey: Journey, web: ServiceProcess) -> None:
    """Where a coach and the parents open the case in the browser (with ``KEEP=1`` the case
    is not erased after, and everything keeps running)."""
    step("the web app: the case as the coach and the parents see it in a browser")
    family = await family_link(pit)
    say(f"the coach's case page: {web.url}/cases/{journey.intake.case_id}")
    say("  (sign in on the development page as coach of leiden)")
    say(f"the parents' page, from the link in their e-mail: {family}")
    say(f"the pilot lead's report: {web.url}/report (development sign-in as pilot-lead)")


def web_port() -> int:
    """The web app's port: 8000, the local identity provider's registered one, when free."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", WEB_PORT))
        except OSError:
            return free_port()
    return WEB_PORT


def wait_for_ctrl_c() -> None:
    print("\neverything keeps running until Ctrl-C", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        # a terminal's Ctrl-C reaches every process of the group, and uv passes it on once
        # more: the stop that follows must not be cut short by that second one
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("\nstopping the web app and the services ...", flush=True)


def main() -> int:
    root = repo_root()
    out = root / ".state" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    smtp = SmtpSink().start()
    hooks = WebhookReceiver().start()
    kafka_port, mongo_port = local_stack_ports()
    web = ServiceProcess("web", web_port(), out / "logs" / "web.log")
    platform = Platform(
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{kafka_port}"),
        mongodb_url=os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{mongo_port}"),
        prefix=f"demo{uuid.uuid4().hex[:6]}.",
        logs=out / "logs",
        extra_env={
            "VRAC_SMTP_HOST": "127.0.0.1",
            "VRAC_SMTP_PORT": str(smtp.port),
            "VRAC_DEVELOPMENT": "true",  # plain-http webhook receiver on loopback
            **links_to(web),
        },
    )
    print("starting intake, screening, network, notifications, reporting and the web app ...")
    platform.start()
    try:
        start_web(web, web_env(web, platform, None))
        asyncio.run(show_the_case(platform, smtp, hooks, out, web))
        if keep_running():
            wait_for_ctrl_c()
    except (AssertionError, DemoFailed) as failed:  # a step timed out or was refused
        raise SystemExit(f"demo: {failed}") from None
    finally:
        stop_web(web)
        platform.stop()
        smtp.stop()
        hooks.stop()
    print(f"\nservice logs: {out / 'logs'}")
    print("the services are stopped; Kafka and FerretDB keep running: `make down` stops them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
