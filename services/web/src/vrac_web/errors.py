"""What can go wrong on a page, as a person should read it: each becomes an error page with
its HTTP status (see ``app.install_error_pages``), never a stack trace."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PageError(Exception):
    """``title`` and ``message`` are English message ids, translated on the page."""

    status: int
    title: str
    message: str
    details: list[str] = field(default_factory=list)  # from the service, in its words
    sign_in: bool = False  # offer to sign in again

    @classmethod
    def forbidden_form(cls) -> PageError:
        return cls(
            403,
            "This form has expired",
            "Go back, reload the page and send the form again.",
        )

    @classmethod
    def no_access(cls, detail: str = "") -> PageError:
        return cls(
            403,
            "No access",
            "Your account may not open this page.",
            [detail] if detail else [],
        )

    @classmethod
    def signed_out(cls) -> PageError:
        return cls(401, "Please sign in", "Your session has ended. Sign in again.", sign_in=True)

    @classmethod
    def link_refused(cls, detail: str = "") -> PageError:
        return cls(
            403,
            "This link no longer opens the page",
            "Links expire, and each can be withdrawn. Ask the coach of your family for a new one.",
            [detail] if detail else [],
        )

    @classmethod
    def not_found(cls) -> PageError:
        return cls(404, "Not found", "This page does not exist, or is no longer there.")

    @classmethod
    def service_down(cls, service: str) -> PageError:
        return cls(
            503,
            "Temporarily unavailable",
            "Part of the platform does not answer right now. Nothing you entered was lost: "
            "try again in a few minutes.",
            [service],
        )
