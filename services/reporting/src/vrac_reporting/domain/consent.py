"""What the parents' ``reporting`` consent covers: whether a case counts in the reports.

A case's events count in the pilot and consortium reports only while the newest ``reporting``
decision of its parents grants it; a case without any decision is not counted. The decision
governs every month of the case, earlier ones included: a withdrawal takes the case's
contribution out of every month it counted in, and a grant (also one that arrives after the
case's other events, since topics are not ordered against each other) counts all of them.
So the store keeps every case's contributions per month, and reports apply the decisions
when they are read. The rules of "newest decision" are the contracts' (``is_newer``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vrac_contracts.consent import ConsentState, consent_decision, consent_key, granted, is_newer
from vrac_contracts.events import EventData
from vrac_contracts.events.intake import ConsentChangedV2
from vrac_contracts.values import ConsentPurpose

from vrac_reporting.domain.network import Measure, with_latest_measures

REPORTING = ConsentPurpose.REPORTING
REPORTING_KEY = consent_key(REPORTING)


def reporting_decision(data: EventData) -> ConsentState | None:
    """The ``reporting`` decision an event records, if it records one."""
    if not isinstance(data, ConsentChangedV2) or data.purpose is not REPORTING:
        return None
    return consent_decision(data)[1]


def prevails(current: ConsentState | None, candidate: ConsentState) -> bool:
    """Whether ``candidate`` becomes the case's decision: the newer one, and on a tie the
    withdrawal, so that the order the store returns them in cannot count a case."""
    if is_newer(current, candidate):
        return True
    assert current is not None
    return candidate.changed_at == current.changed_at and not candidate.granted


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one case adds to one pilot-month (``month`` None: only a decision)."""

    case_id: str
    pilot: str
    month: str | None
    counts: Mapping[str, int]
    decision: ConsentState | None = None
    measure: Measure | None = None


def consented_buckets(
    contributions: Iterable[Contribution],
) -> list[tuple[str, str, Mapping[str, int]]]:
    """``(pilot, month, {metric: count})`` summed over the cases that consent to reporting."""
    rows = with_latest_measures(contributions)
    decisions: dict[str, dict[str, ConsentState]] = {}
    for row in rows:
        if row.decision is not None:
            held = decisions.setdefault(row.case_id, {})
            if prevails(held.get(REPORTING_KEY), row.decision):
                held[REPORTING_KEY] = row.decision
    sums: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        if row.month is None or not granted(decisions.get(row.case_id, {}), REPORTING):
            continue
        sums.setdefault((row.pilot, row.month), Counter()).update(row.counts)
    result: list[tuple[str, str, Mapping[str, int]]] = []
    for (pilot, month), counts in sums.items():
        nonzero = {metric: n for metric, n in counts.items() if n}
        if nonzero:
            result.append((pilot, month, nonzero))
    return result
