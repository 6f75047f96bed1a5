"""E-mail through a real SMTP server, with an asyncio client (aiosmtplib).

The whole session runs under one deadline and in the event loop, so a cancelled attempt
(a deadline, a shutdown) closes the connection and cannot go on sending in the background.
"""

from __future__ import annotations

import asyncio
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib
from vrac_contracts.values import DeliveryError
from vrac_runtime.values import single_line

from vrac_notifications.domain.delivery import DeliveryProblem
from vrac_notifications.ports import Mail
from vrac_notifications.settings import NotificationsSettings


class SmtpMailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    async def send(self, mail: Mail) -> None:
        message = compose(mail, self._settings.smtp_sender)
        s = self._settings
        try:
            async with asyncio.timeout(s.smtp_timeout_seconds):
                await aiosmtplib.send(
                    message,
                    recipients=[mail.to_address],
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    start_tls=s.smtp_starttls,
                    username=s.smtp_username or None,
                    password=s.smtp_password.get_secret_value() or None,
                    timeout=s.smtp_timeout_seconds,
                )
        except TimeoutError:  # the total deadline, or one of aiosmtplib's own
            raise DeliveryProblem(DeliveryError.TIMEOUT, retryable=True) from None
        except aiosmtplib.SMTPRecipientsRefused as err:
            # 4xx on RCPT (greylisting, a full mailbox) asks to try later; 5xx refuses it
            later = all(400 <= refusal.code < 500 for refusal in err.recipients)
            code = DeliveryError.UNREACHABLE if later else DeliveryError.INVALID_ADDRESS
            raise DeliveryProblem(code, retryable=later, detail="recipient refused") from None
        except aiosmtplib.SMTPResponseException as err:
            # 4xx: the server asks to try later; 5xx: it will not take this message
            later = 400 <= err.code < 500
            code = DeliveryError.UNREACHABLE if later else DeliveryError.REJECTED
            raise DeliveryProblem(code, retryable=later, detail=f"smtp {err.code}") from None
        except (OSError, aiosmtplib.SMTPException) as err:
            raise DeliveryProblem(
                DeliveryError.UNREACHABLE, retryable=True, detail=type(err).__name__
            ) from None


def compose(mail: Mail, sender: str) -> EmailMessage:
    """The message; what comes from people (names, the subject that may carry one) is put on
    one line first, so no control or line-separator character can break a header."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((single_line(mail.to_name), mail.to_address))
    message["Subject"] = single_line(mail.subject)
    message["Content-Language"] = str(mail.language)
    message["Message-ID"] = make_msgid(idstring=mail.delivery_id, domain=_domain(sender))
    message["X-VRAC-Notification"] = mail.delivery_id
    message.set_content(mail.text)
    return message


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    try:
        return Address(addr_spec=address).domain or "vrac.invalid"
    except (ValueError, IndexError):
        return "vrac.invalid"
