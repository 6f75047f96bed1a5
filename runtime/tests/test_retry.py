"""The one retry helper: attempts counted, backoff doubled, cancellation never retried."""

from __future__ import annotations

import asyncio

import pytest
from vrac_runtime.retry import retried, with_retries


class Flaky:
    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or ConnectionError("refused")
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


async def test_a_call_that_fails_twice_succeeds_on_the_third_attempt_after_doubling_waits() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    ended = await with_retries(Flaky(2), attempts=5, first_wait=0.5, sleep=sleep)
    assert (ended.count, ended.error) == (3, None)
    assert waits == [0.5, 1.0]


async def test_the_last_error_is_returned_when_attempts_are_spent() -> None:
    flaky = Flaky(10)
    ended = await with_retries(flaky, attempts=3, first_wait=0, sleep=asyncio.sleep)
    assert ended.count == 3 == flaky.calls
    assert isinstance(ended.error, ConnectionError)


async def test_an_error_not_worth_retrying_ends_at_once() -> None:
    flaky = Flaky(10, ValueError("address refused"))
    ended = await with_retries(
        flaky, attempts=5, first_wait=0, retry_if=lambda e: not isinstance(e, ValueError)
    )
    assert (ended.count, flaky.calls) == (1, 1)
    assert isinstance(ended.error, ValueError)


async def test_a_cancellation_is_neither_retried_nor_swallowed() -> None:
    calls = 0

    async def cancelled() -> None:
        nonlocal calls
        calls += 1
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await with_retries(cancelled, attempts=5, first_wait=0)
    assert calls == 1


async def test_retried_returns_what_the_call_returned_after_a_lost_race() -> None:
    lost = Flaky(1, LookupError("changed meanwhile"))

    async def change() -> str:
        await lost()
        return "saved"

    assert await retried(change, attempts=3, first_wait=0, retry_if=lambda e: True) == "saved"
    assert lost.calls == 2


async def test_retried_raises_the_last_error_when_every_race_is_lost() -> None:
    with pytest.raises(LookupError):
        await retried(Flaky(5, LookupError("x")), attempts=3, first_wait=0, retry_if=lambda e: True)
