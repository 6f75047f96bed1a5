"""A start that hangs fails within the start-up timeout and names the step (real store)."""

from __future__ import annotations

import asyncio

import pytest
from vrac_runtime.service import StartupTimeout, build_runtime, create_app

pytestmark = pytest.mark.integration


async def test_a_start_up_step_that_hangs_stops_the_start_naming_it(make_settings) -> None:
    settings = make_settings("intake", startup_timeout_seconds=0.5)
    runtime = build_runtime(settings)

    async def never_done() -> None:
        await asyncio.Event().wait()

    app = create_app(runtime, [], title="hangs", on_startup=[never_done])
    with pytest.raises(StartupTimeout, match=r"start-up step did not finish within 0\.5 s"):
        async with app.router.lifespan_context(app):
            pass
    await runtime.mongo.close()
