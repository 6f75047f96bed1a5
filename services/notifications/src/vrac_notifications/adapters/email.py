"""E-mail through a real SMTP server, with the standard library's client in a thread."""

from __future__ import annotations

import asyncio
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from vrac_contracts.values import DeliveryError

from vrac_notifications.domain.delivery import DeliveryProblem
from vrac_notifications.ports import Mail
from vrac_notifications.settings import NotificationsSettings


class SmtpMailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        self._settings = settings

    async def send(self, mail: Mail) -> None:
        message = compose(mail, self._settings.smtp_sender)
        await asyncio.to_thread(self._send_now, message, mail.to_address)

    def _send_now(self, message: EmailMessage, to_address: str) -> None:
        s = self._settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_seconds) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password.get_secret_value())
                smtp.send_message(message, to_addrs=[to_address])
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryProblem(DeliveryError.INVALID_ADDRESS, retryable=False) from None
        except smtplib.SMTPResponseException as err:
            # 4xx: the server asks to try later; 5xx: it will not take this message
            transient = 400 <= err.smtp_code < 500
            code = DeliveryError.UNREACHABLE if transient else DeliveryError.REJECTED
            detail = f"smtp {err.smtp_code}"
            raise DeliveryProblem(code, retryable=transient, detail=detail) from None
        except TimeoutError:
            raise DeliveryProblem(DeliveryError.TIMEOUT, retryable=True) from None
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryProblem(
                DeliveryError.UNREACHABLE, retryable=True, detail=type(err).__name__
            ) from None


def compose(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((mail.to_name, mail.to_address))
    message["Subject"] = mail.subject
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
