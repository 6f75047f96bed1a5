"""The network figures: each case's latest measure of its network in a month, summed per pilot.

Network publishes ``network-measured`` whenever a case's network changes. A case counts in a
month's network figures once, with the newest measure it had in that month: newest by the
time network recorded it, so the order the events arrive in, a duplicate or a replay change
nothing. Two measures recorded at the same instant are told apart by their values, so every
reader picks the same one.

From the cases measured in a pilot's month, reports publish how many there are, the mean
network size, the informal share (informal members over all members) and how many cover
three sectors or more. The counts of cases go through the same suppression as every other
count; the cases covering fewer than three sectors are never shown but make the cases
measured an additive relation, so that a hidden small part is not revealed by subtraction.
The mean and the share are shown only when none of those counts is hidden, as the task
shares are shown only with both their parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from vrac_contracts.events.network import NetworkMeasured

if TYPE_CHECKING:
    from vrac_reporting.domain.consent import Contribution

WIDE_SECTORS: Final = 3

# the counts a month's measures add up to (the last three are sums, never shown as such)
CASES_MEASURED: Final = "network_cases_measured"
CASES_WIDE: Final = "network_cases_three_sectors_or_more"
CASES_NARROW: Final = "network_cases_fewer_sectors"
MEMBERS: Final = "network_members"
INFORMAL: Final = "network_informal_members"

MEAN_SIZE: Final = "network_mean_size"
INFORMAL_SHARE: Final = "network_informal_share"

# published columns, in order; ADDITIVE_CASES is the relation complementary suppression keeps
COLUMNS: Final = (CASES_MEASURED, MEAN_SIZE, INFORMAL_SHARE, CASES_WIDE)
COUNTED: Final = (CASES_MEASURED, CASES_WIDE, CASES_NARROW)
ADDITIVE_CASES: Final = (CASES_MEASURED, (CASES_WIDE, CASES_NARROW))
SHARE_DIGITS: Final = 2
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Measure:
    """One case's network at one moment: counts only. ``measured_ms`` is when network
    recorded it, in whole milliseconds since the epoch, as exact in the store as in memory."""

    measured_ms: int
    size: int
    informal: int
    sectors: int

    def newer_than(self, other: Measure | None) -> bool:
        if other is None:
            return True
        return self._order() > other._order()

    def _order(self) -> tuple[int, int, int, int]:
        return (self.measured_ms, self.size, self.informal, self.sectors)

    def counts(self) -> dict[str, int]:
        """What the measure adds to its pilot's month."""
        wide = self.sectors >= WIDE_SECTORS
        return {
            CASES_MEASURED: 1,
            CASES_WIDE: int(wide),
            CASES_NARROW: int(not wide),
            MEMBERS: self.size,
            INFORMAL: self.informal,
        }


def measure_of(data: object) -> Measure | None:
    """The measure an event records, if it records one."""
    if not isinstance(data, NetworkMeasured):
        return None
    millis = (data.occurred_at - _EPOCH) // timedelta(milliseconds=1)
    return Measure(millis, data.size, data.informal_members, len(set(data.sectors_covered)))


def with_latest_measures(rows: Iterable[Contribution]) -> list[Contribution]:
    """The contributions, plus for each case-month the counts of its newest measure (a row's
    own counts, of other events, stay as they are)."""
    result: list[Contribution] = []
    newest: dict[tuple[str, str, str], Contribution] = {}
    for row in rows:
        result.append(row)
        if row.measure is None or row.month is None:
            continue
        key = (row.case_id, row.pilot, row.month)
        held = newest.get(key)
        if held is None or row.measure.newer_than(held.measure):
            newest[key] = row
    for row in newest.values():
        assert row.measure is not None
        result.append(replace(row, counts=row.measure.counts(), decision=None, measure=None))
    return result


def network_ratios(raw: Mapping[str, int], hidden: set[str]) -> dict[str, float | None]:
    """The mean size and informal share of a month, shown only when no count of cases is
    hidden: a small mean would otherwise bound a hidden count (no case covers three sectors
    with fewer than three members)."""
    cases, members = raw.get(CASES_MEASURED, 0), raw.get(MEMBERS, 0)
    shown = not hidden.intersection(COUNTED) and cases > 0
    return {
        MEAN_SIZE: round(members / cases, SHARE_DIGITS) if shown else None,
        INFORMAL_SHARE: (
            round(raw.get(INFORMAL, 0) / members, SHARE_DIGITS) if shown and members else None
        ),
    }
