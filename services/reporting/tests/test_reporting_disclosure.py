"""No hidden count of a published report can be worked out from what is published.

The attacker knows the rules (the threshold, which counts add up, how shares are rounded)
and sees every published figure. For each hidden cell, the test searches for another month
of counts that publishes exactly the same figures but has a different value in that cell:
if there is one, the published figures do not determine the cell.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vrac_reporting.domain import network
from vrac_reporting.domain.report import ADDITIVE, Suppression, month_figures
from vrac_reporting.domain.tally import Metric

THRESHOLD = 5
SHARES = ("informal_network_share", "professional_share")
# how far the attacker's search goes beyond the largest published count
SEARCH = 30
TASKS, INFORMAL, PROFESSIONAL = (
    Metric.TASKS_ASSIGNED,
    Metric.TASKS_INFORMAL_NETWORK,
    Metric.TASKS_PROFESSIONAL,
)


@st.composite
def months(draw: st.DrawFn) -> dict[str, int]:
    """A month's counts, with small values (the interesting ones) drawn often."""
    count = st.one_of(st.integers(0, 7), st.integers(0, 60))
    counts = {str(metric): draw(count) for metric in Metric} | _network_month(draw, count)
    # every assigned task is counted for exactly one of the two parts (and every banded
    # questionnaire for one band, every change assessed for one verdict, every case measured
    # for one side of the three-sector line)
    for total, parts in ADDITIVE:
        counts[total] = sum(counts[part] for part in parts)
    return counts


def _network_month(draw: st.DrawFn, count: st.SearchStrategy[int]) -> dict[str, int]:
    """A month's network counts: a case covering three sectors has three members or more."""
    wide, narrow = draw(count), draw(count)
    members = 3 * wide + narrow + draw(count)
    return {
        network.CASES_WIDE: wide,
        network.CASES_NARROW: narrow,
        network.CASES_MEASURED: wide + narrow,
        network.MEMBERS: members,
        network.INFORMAL: draw(st.integers(0, members)),
    }


def published(counts: Mapping[str, int]) -> Mapping[str, object]:
    return month_figures("2025-03", counts, Suppression(THRESHOLD)).values


def alternatives(counts: Mapping[str, int], cell: str) -> Iterator[dict[str, int]]:
    """Other months the attacker cannot rule out by the rules alone, varying ``cell``: alone
    when no relation holds it, else moving counts between it and another hidden cell of its
    relation (the total with it, when the total is hidden too), published cells unchanged."""
    related = next((rel for rel in ADDITIVE if cell in (rel[0], *rel[1])), None)
    if related is None:
        for value in range(counts[cell] + SEARCH):
            yield {**counts, cell: value}
        return
    total, parts = related
    seen = published(counts)
    # a part never published (the networks covering fewer sectors) is hidden all the same
    hidden = [p for p in parts if seen.get(p, "suppressed") == "suppressed"]
    # (part, partner): a hidden total moves with a part, a part against another hidden part
    if cell == total:
        moves = [(part, total) for part in hidden]
    else:
        moves = [(cell, total)] if seen[total] == "suppressed" else []
        moves += [(cell, p) for p in hidden if p != cell]
    for part, partner in moves:
        sign = 1 if partner == total else -1
        for step in range(-SEARCH, SEARCH + 1):
            other = {**counts, part: counts[part] + step, partner: counts[partner] + sign * step}
            if min(other[part], other[partner]) >= 0:
                yield other


def ambiguous(counts: Mapping[str, int], cell: str, seen: Mapping[str, object]) -> bool:
    """Whether two months that publish ``seen`` differ in ``cell``."""
    possible = {counts[cell]}
    for other in alternatives(counts, cell):
        if published(other) == seen:
            possible.add(other[cell])
            if len(possible) > 1:
                return True
    return False


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(months())
def test_no_hidden_cell_can_be_derived(counts: dict[str, int]) -> None:
    seen = published(counts)
    hidden = [cell for cell, value in seen.items() if value == "suppressed"]
    for cell in hidden:
        assert ambiguous(counts, cell, seen), f"{cell} = {counts[cell]} follows from {dict(seen)}"


@given(months())
def test_every_count_below_the_threshold_is_hidden(counts: dict[str, int]) -> None:
    seen = published(counts)
    for metric in Metric:
        if counts[metric] < THRESHOLD:
            assert seen[metric] == "suppressed"


def test_the_reported_leak_is_closed() -> None:
    # 5 tasks: 4 to informal helpers, 1 to a professional (the shares gave both away)
    counts = {str(m): 0 for m in Metric} | {TASKS: 5, INFORMAL: 4, PROFESSIONAL: 1}
    seen = published(counts)
    assert seen["informal_network_share"] is None and seen["professional_share"] is None
    assert {seen[INFORMAL], seen[PROFESSIONAL]} == {"suppressed"}
    # 8 tasks, 6 informal, 2 professional: the total and one part gave the other away
    counts |= {TASKS: 8, INFORMAL: 6, PROFESSIONAL: 2}
    seen = published(counts)
    assert seen[PROFESSIONAL] == "suppressed" and seen[INFORMAL] == "suppressed"
    assert seen[TASKS] == 8


def test_every_split_of_up_to_25_tasks_keeps_its_hidden_parts_ambiguous() -> None:
    """Exhaustively, for the relation that exists: each view of the three task cells and
    the shares is shared by several splits wherever one of its cells is hidden."""
    other = {str(m): 9 for m in Metric}

    def view(informal: int, professional: int) -> tuple[object, ...]:
        counts = other | {INFORMAL: informal, PROFESSIONAL: professional}
        counts[TASKS] = informal + professional
        seen = published(counts)
        return tuple(seen[c] for c in (INFORMAL, PROFESSIONAL, TASKS, *SHARES))

    splits: dict[tuple[object, ...], list[tuple[int, int]]] = {}
    for informal in range(25 + SEARCH):
        for professional in range(25 + SEARCH):
            splits.setdefault(view(informal, professional), []).append((informal, professional))
    for informal in range(25):
        for professional in range(25):
            seen = view(informal, professional)
            alike = splits[seen]
            if seen[0] == "suppressed":
                assert len({i for i, _ in alike}) > 1, (informal, professional)
            if seen[1] == "suppressed":
                assert len({p for _, p in alike}) > 1, (informal, professional)
            if seen[2] == "suppressed":
                assert len({i + p for i, p in alike}) > 1, (informal, professional)
