"""Background tasks of a service process."""

from __future__ import annotations

import asyncio


async def cancel_all(tasks: list[asyncio.Task[None]], again_after: float = 0.5) -> None:
    """Cancel the tasks and wait until every one has ended. A cancellation that lands inside
    a library call can be absorbed there (the call returns or raises something else), and the
    task's loop then goes on as if nothing was asked; so a task still running after
    ``again_after`` seconds is cancelled again, until it stops at one of our own waits."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_after)
