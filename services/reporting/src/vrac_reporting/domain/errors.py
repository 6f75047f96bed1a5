"""Why reporting refuses a request; the runtime maps each base to its HTTP status."""

from __future__ import annotations

from vrac_runtime.errors import Conflict, NotFound, RuleBroken


class UnknownPilot(NotFound):
    """No pilot has this id (404)."""


class UnknownRebuild(NotFound):
    """No rebuild has this generation id (404)."""


class RebuildRunning(Conflict):
    """Another rebuild is filling a generation and is still alive (409)."""


class Superseded(Conflict):
    """The generation this rebuild fills was replaced by a newer rebuild (409)."""


class MonthsOutOfOrder(RuleBroken):
    """The first month of a range comes after its last (422 naming ``from``)."""

    def __init__(self) -> None:
        super().__init__("from", "must not be after to")


class NotCounted(RuleBroken):
    """The event is of a type reporting does not count."""

    def __init__(self, event_type: str) -> None:
        super().__init__("type", f"{event_type} is not counted by reporting")
