"""Retrying a call with exponential backoff, the one way every service does it (tenacity).

The consumer retries a handler, notifications retries a channel: both want to know how many
attempts were made and which error ended them, and neither may retry a cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class Attempts:
    """How a retried call ended: the attempts made and the error of the last (None: done)."""

    count: int
    error: Exception | None = None


async def with_retries(
    call: Callable[[], Awaitable[object]],
    *,
    attempts: int,
    first_wait: float,
    retry_if: Callable[[Exception], bool] = lambda _: True,
    max_wait: float = 60.0,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> Attempts:
    """Call until it succeeds, an error is not worth retrying, or ``attempts`` are spent.

    Waits ``first_wait`` before the second attempt, doubling up to ``max_wait``. A
    cancellation is never retried nor caught: it ends the call undone.
    """

    def worth_retrying(error: BaseException) -> bool:
        return isinstance(error, Exception) and retry_if(error)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if on_retry is not None and isinstance(error, Exception):
            on_retry(state.attempt_number, error)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=first_wait, max=max_wait),
        retry=retry_if_exception(worth_retrying),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    made = 0
    try:
        async for attempt in retrying:
            with attempt:
                made = attempt.retry_state.attempt_number
                await call()
    except Exception as error:
        return Attempts(made, error)
    return Attempts(made)


async def retried(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    first_wait: float,
    retry_if: Callable[[Exception], bool],
    max_wait: float = 60.0,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """The call's result once it succeeds; the error that ended it otherwise.

    For a read-change-write that lost a race to another writer: read again and retry.
    """
    results: list[T] = []

    async def once() -> None:
        results.append(await call())

    ended = await with_retries(
        once,
        attempts=attempts,
        first_wait=first_wait,
        retry_if=retry_if,
        max_wait=max_wait,
        sleep=sleep,
    )
    if ended.error is not None:
        raise ended.error
    return results[-1]
