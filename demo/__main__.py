"""``make demo``: one Leiden PIT case through the five services, as separate processes.

Starts the services against the local stack, a real SMTP server and a webhook receiver for the
youth team, then walks the case through intake, consent, screening, diploma, the network, tasks,
notifications and the pilot report, printing what happened at each step.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from vrac_runtime.auth import issue_token
from vrac_testing.infrastructure import local_stack_ports, repo_root
from vrac_testing.processes import Platform
from vrac_testing.sinks import SmtpSink, WebhookReceiver

AGENCY = "agy_youthteamleiden1"
WEBHOOK_SECRET = "youth-team-shared-secret-for-the-demo"


def step(title: str) -> None:
    print(f"\n== {title}")


def wait_for(what: str, probe: Callable[[], Any], timeout: float = 60) -> Any:
    """Poll until ``probe`` returns something truthy; events travel asynchronously."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.3)
    raise SystemExit(f"demo: gave up waiting for {what}")


class Demo:
    def __init__(self, platform: Platform) -> None:
        self.p = platform
        secret = platform.jwt_secret
        self.coach = self._auth(
            issue_token(secret, subject="coach-anna", role="coach", pilot="leiden")
        )
        self.lead = self._auth(
            issue_token(secret, subject="lead-leiden", role="pilot-lead", pilot="leiden")
        )
        self.agency = self._auth(issue_token(secret, subject=AGENCY, role="agency", pilot="leiden"))
        self.http = httpx.Client(timeout=30)

    @staticmethod
    def _auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, service: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> httpx.Response:
        return self.http.request(method, self.p.url(service) + path, headers=headers, **kwargs)

    def ok(
        self, method: str, service: str, path: str, headers: dict[str, str], **kwargs: Any
    ) -> Any:
        reply = self.call(method, service, path, headers, **kwargs)
        if reply.status_code >= 400:
            raise SystemExit(f"demo: {method} {service}{path} -> {reply.status_code} {reply.text}")
        return reply.json() if "json" in reply.headers.get("content-type", "") else reply


def run(demo: Demo, smtp: SmtpSink, hooks: WebhookReceiver, out: Path) -> dict[str, Any]:
    step("1. intake: the coach registers the family (Leiden, PIT programme)")
    case = demo.ok(
        "POST",
        "intake",
        "/cases",
        demo.coach,
        json={
            "pilot": "leiden",
            "programme": "pit",
            "child_first_name": "Sam",
            "birth_year": 2016,
            "school_name": "De Regenboog",
            "language": "nl",
            "guardians": [
                {
                    "name": "Fatima",
                    "email": "fatima@example.org",
                    "preferred_channel": "email",
                    "language": "nl",
                }
            ],
        },
    )
    case_id, guardian = case["case_id"], case["guardians"][0]["guardian_id"]
    print(f"case {case_id} opened; guardian {guardian}")

    step("2. consent: the parents decide what is shared, and with whom")
    for purpose, extra in (
        ("screening", {}),
        ("diploma", {}),
        ("share-with-school", {}),
        ("share-with-agency", {"agency_id": AGENCY}),
        ("reporting", {}),
    ):
        demo.ok(
            "POST",
            "intake",
            f"/cases/{case_id}/consents",
            demo.coach,
            json={
                "purpose": purpose,
                "granted": True,
                "recorded_by": {"guardian_id": guardian},
                **extra,
            },
        )
        print(f"granted: {purpose}{' ' + AGENCY if extra else ''}")

    step("3. screening: the university's results, strengths and advice")
    scores = {
        "scores": [
            {"domain": "working-memory", "kind": "percentile", "score": 88},
            {"domain": "reading", "kind": "standard-score", "score": 82},
            {"domain": "moral-reasoning", "kind": "qualitative", "rating": "well-above"},
            {"domain": "creativity", "kind": "percentile", "score": 91},
        ]
    }

    def record() -> Any:
        reply = demo.call(
            "POST", "screening", f"/cases/{case_id}/screenings", demo.coach, json=scores
        )
        return reply.json() if reply.status_code == 201 else None

    screening = wait_for("screening to know the case and its consent", record)
    print("strengths:", ", ".join(screening["strengths"]))
    print("growth areas:", ", ".join(screening["growth_areas"]))
    for item in screening["advice"]:
        print(f"advice for {item['audience']}: {item['text']}")

    step("4. diploma: made asynchronously by the diploma maker, in Dutch")
    diplomas = wait_for(
        "the diploma", lambda: demo.ok("GET", "screening", f"/cases/{case_id}/diplomas", demo.coach)
    )
    diploma_id = diplomas[0]["diploma_id"]
    pdf = demo.ok("GET", "screening", f"/diplomas/{diploma_id}.pdf", demo.coach)
    path = out / f"diploma-{diploma_id}.pdf"
    path.write_bytes(pdf.content)
    print(f"diploma {diploma_id}: {path} ({len(pdf.content)} bytes)")

    step("5. network: grandmother, the teacher and the youth team")
    wait_for(
        "network to know the case",
        lambda: (
            demo.call("GET", "network", f"/cases/{case_id}/plan", demo.coach).status_code == 200
        ),
    )
    demo.ok(
        "PUT",
        "notifications",
        f"/agencies/{AGENCY}/webhook",
        demo.agency,
        json={"url": hooks.url, "secret": WEBHOOK_SECRET},
    )
    members = {}
    for key, body in {
        "grandmother": {
            "kind": "informal",
            "role": "base-worker",
            "display_name": "Oma Aziza",
            "relationship": "grandmother",
            "email": "oma@example.org",
            "channel": "email",
            "language": "nl",
        },
        "teacher": {
            "kind": "professional",
            "role": "teacher",
            "display_name": "Juf Marieke",
            "relationship": "class teacher",
            "email": "juf@regenboog.example.org",
            "channel": "email",
            "language": "nl",
        },
        "youth team": {
            "kind": "agency",
            "role": "spider-in-the-web",
            "display_name": "Jeugdteam Leiden",
            "relationship": "youth team",
            "agency_id": AGENCY,
            "channel": "webhook",
            "language": "nl",
        },
    }.items():
        member = demo.ok("POST", "network", f"/cases/{case_id}/members", demo.coach, json=body)
        members[key] = member["member_id"]
        print(f"added {key}: {member['member_id']} ({body['role']})")

    step("6. tasks: who does what")
    soon = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()
    past = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    tasks = [
        ("grandmother", "homework-support", soon),
        ("youth team", "professional-support", past),
    ]
    for who, category, due in tasks:
        task = demo.ok(
            "POST",
            "network",
            f"/cases/{case_id}/tasks",
            demo.coach,
            json={"category": category, "assignee_id": members[who], "due_date": due},
        )
        print(f"{category} -> {who}, due {due} ({task['task_id']})")
    swept = demo.ok("POST", "network", "/sweeps/overdue", demo.coach, json={})
    print(f"overdue sweep reported {len(swept['reported'])} task(s)")

    step("7. notifications: e-mails and webhooks that went out")
    wait_for(
        "e-mails to grandmother, teacher and guardian",
        lambda: all(
            smtp.to(a)
            for a in ("oma@example.org", "juf@regenboog.example.org", "fatima@example.org")
        ),
    )
    wait_for("the youth team's webhooks", lambda: len(hooks.hooks) >= 2)
    for mail in smtp.messages:
        print(f"e-mail to {', '.join(mail.recipients)}: {mail.subject}")
    for hook in hooks.hooks:
        print(
            f"webhook to youth team: signature valid={hook.signed_with(WEBHOOK_SECRET)}, "
            f"{len(hook.body)} bytes"
        )
    [link] = re.findall(r"\S+\.pdf\?link=\S+", smtp.to("fatima@example.org")[0].text)
    opened = httpx.get(link, timeout=30)
    print(f"the parent's diploma link opens without an account: HTTP {opened.status_code}")
    deliveries = demo.ok("GET", "notifications", f"/cases/{case_id}/deliveries", demo.coach)
    print(f"{len(deliveries['deliveries'])} deliveries recorded")

    step("8. report: Leiden's pilot report (counts below 5 shown as <5)")
    time.sleep(1.0)
    csv = demo.ok("GET", "reporting", "/reports/pilots/leiden?format=csv", demo.lead)
    print(csv.text.strip())
    return {
        "case_id": case_id,
        "guardian_id": guardian,
        "diploma": path,
        "report": csv.text,
        "members": members,
    }


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
            "VRAC_WEBHOOK_REQUIRE_HTTPS": "false",
        },
    )
    print("starting intake, screening, network, notifications and reporting ...")
    platform.start()
    try:
        run(Demo(platform), smtp, hooks, out)
    finally:
        platform.stop()
        smtp.stop()
        hooks.stop()
    print(f"\nservice logs: {out / 'logs'}")
    print("the services are stopped; Kafka and FerretDB keep running: `make down` stops them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
