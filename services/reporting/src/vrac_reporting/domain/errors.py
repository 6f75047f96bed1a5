"""Why reporting refuses a request; the runtime maps each base to its HTTP status."""

from __future__ import annotations

from collections.abc import Sequence

from vrac_runtime.errors import Conflict, NotFound, RuleBroken

from vrac_reporting.domain.generations import Gap


class UnknownPilot(NotFound):
    """No pilot has this id (404)."""


class UnknownRebuild(NotFound):
    """No rebuild has this generation id (404)."""


class RebuildRunning(Conflict):
    """Another rebuild is filling a generation and is still alive (409)."""


class Superseded(Conflict):
    """The generation this rebuild fills was replaced by a newer rebuild (409)."""


class HistoryMissing(Conflict):
    """A rebuild would replay a shorter history than the read models hold: records it needs
    are no longer on the topics (409). Names every partition and range it misses."""

    _NAMED = 5  # gaps named in the message; the rebuild's status lists them all

    def __init__(self, gaps: Sequence[Gap], generation: str = "") -> None:
        self.gaps = tuple(gaps)
        self.generation = generation
        missing = sum(gap.records for gap in self.gaps)
        named = "; ".join(str(gap) for gap in self.gaps[: self._NAMED])
        more = len(self.gaps) - self._NAMED
        if more > 0:
            named += f"; and {more} more partitions"
        refused = f"rebuild {generation} refused: " if generation else "rebuild refused: "
        super().__init__(
            f"{refused}the topics no longer hold {missing} records of the history "
            f"({named}); the read models were not replaced"
        )


class MonthsOutOfOrder(RuleBroken):
    """The first month of a range comes after its last (422 naming ``from``)."""

    def __init__(self) -> None:
        super().__init__("from", "must not be after to")


class NotCounted(RuleBroken):
    """The event is of a type reporting does not count."""

    def __init__(self, event_type: str) -> None:
        super().__init__("type", f"{event_type} is not counted by reporting")
