"""The PIT journey with each service as its own process over the real Kafka and FerretDB."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader
from vrac_testing.processes import Platform
from vrac_testing.sinks import SmtpSink, WebhookReceiver

from demo.__main__ import WEBHOOK_SECRET, Demo, run, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def sinks() -> Iterator[tuple[SmtpSink, WebhookReceiver]]:
    smtp, hooks = SmtpSink().start(), WebhookReceiver().start()
    yield smtp, hooks
    smtp.stop()
    hooks.stop()


@pytest.fixture
def platform(kafka_bootstrap, mongodb_url, test_prefix, sinks, tmp_path) -> Iterator[Platform]:
    smtp, _ = sinks
    platform = Platform(
        kafka_bootstrap,
        mongodb_url,
        f"{test_prefix}.",
        tmp_path / "logs",
        extra_env={
            "VRAC_SMTP_HOST": "127.0.0.1",
            "VRAC_SMTP_PORT": str(smtp.port),
            "VRAC_WEBHOOK_REQUIRE_HTTPS": "false",
        },
    )
    platform.start()
    yield platform
    platform.stop()


def test_a_leiden_case_goes_through_the_whole_journey(platform, sinks, tmp_path: Path) -> None:
    smtp, hooks = sinks
    demo = Demo(platform)
    result = run(demo, smtp, hooks, tmp_path)

    text = "".join(page.extract_text() for page in PdfReader(result["diploma"]).pages)
    assert "Sam" in text
    assert "DIPLOMA" in text
    # the strengths, in the family's language (nl)
    assert "Onthouden" in text  # working memory
    assert "fantasie" in text  # creativity

    [grandmother] = smtp.to("oma@example.org")
    assert "huiswerk" in grandmother.subject.lower()
    [guardian] = smtp.to("fatima@example.org")
    assert "diploma" in guardian.subject.lower() and "Sam" in guardian.subject
    # the parent opens the link in the e-mail, without an account
    [link] = re.findall(r"https?://\S+\.pdf\?link=\S+", guardian.text)
    opened = httpx.get(link, timeout=30)
    assert opened.status_code == 200
    assert "Sam" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(opened.content)).pages)
    [teacher] = smtp.to("juf@regenboog.example.org")
    assert "school" in teacher.subject.lower()
    assert hooks.hooks and all(hook.signed_with(WEBHOOK_SECRET) for hook in hooks.hooks)

    header, leiden = result["report"].strip().splitlines()[:2]
    row = dict(zip(header.split(","), leiden.split(","), strict=True))
    assert row["pilot"] == "leiden"
    assert row["cases_opened"] == "<5" and row["tasks_assigned"] == "<5"

    # The parents withdraw the youth team's consent: the next task reaches it no more.
    case_id = result["case_id"]
    sent_before = len(hooks.hooks)
    demo.ok(
        "POST",
        "intake",
        f"/cases/{case_id}/consents",
        demo.coach,
        json={
            "purpose": "share-with-agency",
            "granted": False,
            "agency_id": "agy_youthteamleiden1",
            "recorded_by": {"guardian_id": result["guardian_id"]},
        },
    )
    task = demo.ok(
        "POST",
        "network",
        f"/cases/{case_id}/tasks",
        demo.coach,
        json={"category": "meeting", "assignee_id": result["members"]["youth team"]},
    )

    def withheld() -> bool:
        deliveries = demo.ok("GET", "notifications", f"/cases/{case_id}/deliveries", demo.coach)[
            "deliveries"
        ]
        return any(d["status"] == "withheld" for d in deliveries)

    wait_for("the task message to be withheld", withheld)
    assert len(hooks.hooks) == sent_before
    assert task["task_id"]
