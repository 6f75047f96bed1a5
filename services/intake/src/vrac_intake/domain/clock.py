"""Moments as the store keeps them.

Stored dates hold milliseconds, so every moment the domain records is cut to milliseconds
first: the time in an event is then exactly the time read back later, and "newer than"
comparisons give the same answer before and after a round trip.
"""

from __future__ import annotations

import datetime as dt

ONE_TICK = dt.timedelta(milliseconds=1)


def to_stored(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, cut to whole milliseconds; naive moments are refused."""
    if moment.tzinfo is None:
        raise ValueError("a moment needs a UTC offset")
    utc = moment.astimezone(dt.UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)
