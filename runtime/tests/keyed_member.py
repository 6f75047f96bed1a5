"""A consumer group member as its own process, for the crash test: it handles case-opened
events, never finishes the one of the case named in ``VRAC_TEST_STUCK_CASE``, and prints one
JSON line per event it finished. Settings come from the environment, as a service's do."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from vrac_contracts.envelope import Envelope
from vrac_contracts.events.intake import CaseOpened
from vrac_runtime.consumer import EventConsumer
from vrac_runtime.kafka import make_broker
from vrac_runtime.settings import ServiceSettings


async def main() -> None:
    settings = ServiceSettings()
    stuck = os.environ["VRAC_TEST_STUCK_CASE"]
    broker = make_broker(settings)
    consumer = EventConsumer(broker, settings, "vrac.test")

    async def handle(envelope: Envelope[Any]) -> None:
        if envelope.data.case_id == stuck:
            print(json.dumps({"started": envelope.id}), flush=True)
            await asyncio.Event().wait()  # until the process is killed
        print(json.dumps({"finished": envelope.id}), flush=True)

    consumer.on(CaseOpened, handle)
    consumer.register()
    await broker.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
