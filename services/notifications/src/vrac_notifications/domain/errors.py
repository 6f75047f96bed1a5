"""What the service refuses, each on one of the shared bases (one HTTP mapping for all)."""

from __future__ import annotations

from vrac_runtime.errors import Conflict, NotFound, RuleBroken


class UnknownCase(NotFound):
    def __init__(self, case_id: str) -> None:
        super().__init__(f"case {case_id} is not known to notifications")


class NoWebhook(NotFound):
    def __init__(self, agency_id: str) -> None:
        super().__init__(f"agency {agency_id} has no webhook")


class ChangedMeanwhile(Conflict):
    """Someone else changed the case file since it was read; read it again and retry."""


class PilotRequired(RuleBroken):
    def __init__(self) -> None:
        super().__init__("pilot", "required with a token for all pilots")


class RefusedDestination(RuleBroken):
    """A webhook URL this service will not call: not https outside development, or a host
    that resolves to an address that is not public (see ``domain.destinations``)."""

    def __init__(self, problem: str) -> None:
        super().__init__("url", problem)


class UnresolvedDestination(RefusedDestination):
    """The URL's host name does not resolve (now); nothing can be checked, so nothing is sent."""

    def __init__(self) -> None:
        super().__init__("host name does not resolve")
