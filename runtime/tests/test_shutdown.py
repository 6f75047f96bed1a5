"""A stopping service ends its background loops (the relay, the periodic jobs) even when a
library call they were in absorbed the cancellation: otherwise the stop waits for ever."""

from __future__ import annotations

import asyncio

from vrac_runtime.tasks import cancel_all


async def test_a_loop_that_absorbed_its_cancellation_is_cancelled_again() -> None:
    absorbed: list[int] = []

    async def relay_like(n: int) -> None:
        while True:
            try:
                await asyncio.sleep(3600)  # a call into a library
            except asyncio.CancelledError:
                if n in absorbed:
                    raise
                absorbed.append(n)  # the library turned the cancellation into a plain return

    loops = [asyncio.create_task(relay_like(n)) for n in range(3)]
    await asyncio.sleep(0)
    await asyncio.wait_for(cancel_all(loops, again_after=0.05), timeout=10)
    assert all(task.cancelled() for task in loops)
    assert sorted(absorbed) == [0, 1, 2]


async def test_loops_that_end_at_once_are_cancelled_once() -> None:
    cancellations = 0

    async def plain() -> None:
        nonlocal cancellations
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancellations += 1
            raise

    loops = [asyncio.create_task(plain()) for _ in range(2)]
    await asyncio.sleep(0)
    await cancel_all(loops)
    assert cancellations == 2 and all(task.cancelled() for task in loops)
