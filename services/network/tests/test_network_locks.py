"""Per-document locks: one writer per document at a time, none kept once released."""

from __future__ import annotations

import asyncio

from vrac_network.adapters.locks import DocumentLocks


async def test_writes_to_one_document_take_turns_and_others_do_not_wait() -> None:
    locks = DocumentLocks()
    log: list[str] = []

    async def write(key: str, name: str, pause: float) -> None:
        async with locks.hold(key):
            log.append(f"{name} in")
            await asyncio.sleep(pause)
            log.append(f"{name} out")

    await asyncio.gather(
        write("tasks/a", "first", 0.05), write("tasks/a", "second", 0), write("tasks/b", "other", 0)
    )
    assert log.index("first out") < log.index("second in")
    assert log.index("other out") < log.index("first out")
    assert locks.held() == 0


async def test_a_failed_write_releases_its_lock() -> None:
    locks = DocumentLocks()
    try:
        async with locks.hold("cases/x"):
            raise ConnectionError("store unreachable")
    except ConnectionError:
        pass
    async with asyncio.timeout(1), locks.hold("cases/x"):
        pass
    assert locks.held() == 0
