"""What the HTTP side asks of the service."""

from __future__ import annotations

from dataclasses import dataclass

from vrac_contracts.values import Pilot


@dataclass(frozen=True)
class RegisterWebhook:
    """Register or replace where an agency of a pilot takes its notifications."""

    agency_id: str
    pilot: Pilot
    url: str
    secret: str
