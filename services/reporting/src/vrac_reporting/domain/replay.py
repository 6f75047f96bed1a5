"""The replay's in-memory aggregation: one pass over the topics, written out once at the end.

Writing per event is what makes a replay slow, so a replay keeps the counts per pilot-month
in memory and remembers every event id it counted (about 100 bytes per event), which makes a
duplicate anywhere in the topics count once. The last ``tail`` events of each partition are
also kept, so the live path can recognise a re-published copy of one of them later.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable

from vrac_reporting.domain.generations import Position
from vrac_reporting.domain.tally import Metric, Tally


class ReplayTally:
    def __init__(self, tail: int) -> None:
        self._tail_size = tail
        self._seen: set[str] = set()
        self._counts: dict[str, Counter[Metric]] = {}
        self._where: dict[str, tuple[str, str]] = {}
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
        key = tally.key
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = Counter()
            self._where[key] = (tally.pilot, tally.month)
        counts.update(tally.metrics)
        if self._tail_size:
            part = (position.topic, position.partition)
            tail = self._tails.get(part)
            if tail is None:
                tail = self._tails[part] = deque(maxlen=self._tail_size)
            tail.append(tally)
        return True

    def skip_undecodable(self) -> None:
        self.read += 1
        self.undecodable += 1

    def has_seen(self, event_id: str) -> bool:
        return event_id in self._seen

    def tail(self) -> list[Tally]:
        return [tally for part in self._tails.values() for tally in part]

    def withdraw(self, tallies: Iterable[Tally]) -> None:
        """Take back events that turned out to be counted already by the live path."""
        for tally in tallies:
            self._counts[tally.key].subtract(tally.metrics)
            self.duplicates += 1
            self._withdrawn += 1

    @property
    def counted(self) -> int:
        return len(self._seen) - self._withdrawn

    def buckets(self) -> list[tuple[str, str, dict[str, int]]]:
        """``(pilot, month, {metric: count})`` for every pilot-month with a count."""
        result = []
        for key, counts in self._counts.items():
            pilot, month = self._where[key]
            nonzero = {str(metric): n for metric, n in counts.items() if n}
            if nonzero:
                result.append((pilot, month, nonzero))
        return result
