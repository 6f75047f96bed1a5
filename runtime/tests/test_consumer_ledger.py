"""The commit position of a partition: the offset below which every record taken is finished."""

from __future__ import annotations

from vrac_runtime.consumer_flow import Ledger


def test_nothing_taken_commits_nothing() -> None:
    assert Ledger().position is None


def test_the_position_waits_for_the_lowest_unfinished_record() -> None:
    ledger = Ledger()
    for offset in (10, 11, 12, 13):
        ledger.take(offset)
    assert ledger.finish(12) is None  # 10 and 11 are not finished
    assert ledger.finish(11) is None
    assert ledger.position == 10 and ledger.lowest_unfinished == 10
    assert ledger.finish(10) == 13  # 10, 11 and 12 are done: 13 is next
    assert ledger.finish(13) == 14
    assert ledger.lowest_unfinished is None and ledger.position == 14


def test_gaps_in_the_offsets_do_not_hold_the_position() -> None:
    # compacted topics and transaction markers leave offsets no record has
    ledger = Ledger()
    ledger.take(3)
    ledger.take(7)
    assert ledger.finish(7) is None
    assert ledger.finish(3) == 8
