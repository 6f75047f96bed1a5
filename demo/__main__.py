"""``make demo``: one Leiden PIT case through the five services, as separate processes.

Starts the services against the local stack, a real SMTP server and a webhook receiver for the
youth team, then walks the case through intake, consent, screening, diploma, the network, tasks,
notifications, the pilot report, the audit trail's answer for the case and, last, its erasure
(the steps of ``demo.scenario``, which the end-to-end test walks too), printing what happened
at each step.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

from vrac_testing.infrastructure import local_stack_ports, repo_root
from vrac_testing.processes import Platform
from vrac_testing.sinks import SmtpSink, WebhookReceiver

from demo.scenario import (
    DemoFailed,
    PitCase,
    erase,
    family_advice,
    measure_wellbeing,
    network_figures,
    overdue_notice,
    walk,
)


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def say(line: str) -> None:
    print(line, flush=True)


async def show_the_case(
    platform: Platform, smtp: SmtpSink, hooks: WebhookReceiver, out: Path
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
        await erase(pit, journey, step=step, say=say)


def main() -> int:
    root = repo_root()
    out = root / ".state" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    smtp = SmtpSink().start()
    hooks = WebhookReceiver().start()
    kafka_port, mongo_port = local_stack_ports()
    platform = Platform(
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{kafka_port}"),
        mongodb_url=os.environ.get("MONGODB_URL", f"mongodb://127.0.0.1:{mongo_port}"),
        prefix=f"demo{uuid.uuid4().hex[:6]}.",
        logs=out / "logs",
        extra_env={
            "VRAC_SMTP_HOST": "127.0.0.1",
            "VRAC_SMTP_PORT": str(smtp.port),
            "VRAC_DEVELOPMENT": "true",  # plain-http webhook receiver on loopback
        },
    )
    print("starting intake, screening, network, notifications and reporting ...")
    platform.start()
    try:
        asyncio.run(show_the_case(platform, smtp, hooks, out))
    except (AssertionError, DemoFailed) as failed:  # a step timed out or was refused
        raise SystemExit(f"demo: {failed}") from None
    finally:
        platform.stop()
        smtp.stop()
        hooks.stop()
    print(f"\nservice logs: {out / 'logs'}")
    print("the services are stopped; Kafka and FerretDB keep running: `make down` stops them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
