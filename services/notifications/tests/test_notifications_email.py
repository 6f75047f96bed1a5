"""The e-mail as composed: names from events already on the topics may carry line breaks."""

from __future__ import annotations

import email
from email import policy

import pytest
from vrac_contracts.values import Language
from vrac_notifications.adapters.email import compose
from vrac_notifications.ports import Mail


@pytest.mark.parametrize(
    "name",
    [
        "Ria\r\nBcc: all@example.org",
        "Ria\u2028Bcc: all@example.org",
        "Ria\x00\x85\u202eBcc: all@example.org",
    ],
)
def test_a_name_with_control_characters_cannot_break_the_headers(name: str) -> None:
    mail = Mail(
        "ntf_f5b71f3169e15e4587f586c4bc078503",
        "ria@example.org",
        name,
        f"Hallo {name}",
        "Beste Ria,\n\nFijn!",
        Language.NL,
    )
    sent = email.message_from_bytes(
        compose(mail, "VRAC <noreply@vrac.example.org>").as_bytes(), policy=policy.default
    )
    assert sent["Bcc"] is None
    assert sent["To"].addresses[0].addr_spec == "ria@example.org"
    assert sent["To"].addresses[0].display_name.startswith("Ria Bcc")
    assert sent["X-VRAC-Notification"] == "ntf_f5b71f3169e15e4587f586c4bc078503"
    assert sent.get_content().startswith("Beste Ria,\n\nFijn!")
