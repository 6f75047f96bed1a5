"""The replay's in-memory aggregation: one pass over the topics, written out once at the end.

Writing per event is what makes a replay slow, so a replay keeps each case's counts per
month in memory, with the newest ``reporting`` decision of each case, and remembers every
event id it counted (about 100 bytes per event), which makes a duplicate anywhere in the
topics count once. The last ``tail`` events of each partition are kept apart and written one
by one, so the live path can recognise a re-published copy of one of them later.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Collection

from vrac_contracts.consent import ConsentState

from vrac_reporting.domain.consent import Contribution, prevails
from vrac_reporting.domain.generations import Position
from vrac_reporting.domain.network import Measure
from vrac_reporting.domain.tally import Metric, Tally


class ReplayTally:
    def __init__(self, tail: int) -> None:
        self._tail_size = tail
        self._seen: set[str] = set()
        # (case, pilot, month) -> counts
        self._counts: dict[tuple[str, str, str], Counter[Metric]] = {}
        # case -> (pilot, newest reporting decision)
        self._decisions: dict[str, tuple[str, ConsentState]] = {}
        # (case, pilot, month) -> the newest network measure
        self._measures: dict[tuple[str, str, str], Measure] = {}
        self._tails: dict[tuple[str, int], deque[Tally]] = {}
        self.read = 0
        self.duplicates = 0
        self.undecodable = 0
        self._withdrawn = 0

    def add(self, tally: Tally, position: Position) -> bool:
        """Count an event unless its id was counted already; True when counted."""
        self.read += 1
        if tally.event_id in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(tally.event_id)
        key = (tally.case_id, tally.pilot, tally.month)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = Counter()
        counts.update(tally.metrics)
        if tally.measure is not None:
            self._keep_measure(key, tally.measure)
        if tally.decision is not None:
            held = self._decisions.get(tally.case_id)
            if prevails(None if held is None else held[1], tally.decision):
                self._decisions[tally.case_id] = (tally.pilot, tally.decision)
        if self._tail_size:
            part = (position.topic, position.partition)
            tail = self._tails.get(part)
            if tail is None:
                tail = self._tails[part] = deque(maxlen=self._tail_size)
            tail.append(tally)
        return True

    def _keep_measure(self, key: tuple[str, str, str], measure: Measure) -> None:
        # The newest one wins whatever the order; a tail event that is also stored on its
        # own is then simply the same measure twice, so set_aside leaves measures alone.
        if measure.newer_than(self._measures.get(key)):
            self._measures[key] = measure

    def skip_undecodable(self) -> None:
        self.read += 1
        self.undecodable += 1

    def has_seen(self, event_id: str) -> bool:
        return event_id in self._seen

    def tail(self) -> list[Tally]:
        return [tally for part in self._tails.values() for tally in part]

    def set_aside(self, tail: Collection[Tally], known: Collection[str]) -> None:
        """Take the tail's events out of the aggregate: they are stored one by one. Those in
        ``known`` were counted by the live path already, so they are duplicates."""
        for tally in tail:
            self._counts[(tally.case_id, tally.pilot, tally.month)].subtract(tally.metrics)
        withdrawn = sum(1 for tally in tail if tally.event_id in known)
        self.duplicates += withdrawn
        self._withdrawn += withdrawn

    @property
    def counted(self) -> int:
        return len(self._seen) - self._withdrawn

    def contributions(self) -> list[Contribution]:
        """Every case's counts and newest network measure per month, and every case's newest
        reporting decision."""
        result = []
        for key, counts in self._counts.items():
            nonzero = {str(metric): n for metric, n in counts.items() if n}
            measure = self._measures.get(key)
            if nonzero or measure is not None:
                result.append(Contribution(*key, nonzero, measure=measure))
        for case_id, (pilot, decision) in self._decisions.items():
            result.append(Contribution(case_id, pilot, None, {}, decision))
        return result
