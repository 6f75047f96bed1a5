"""``python -m vrac_reporting.entrypoints.rebuild``: rebuild the read models by replay.

Reads every public topic from the earliest offset with a fresh consumer group into a fresh
generation of the read models, switches reports to it, and prints the time taken and the
events read. Safe while the service runs: the service keeps counting new events into both
generations until the switch.

Exit codes: 0 rebuilt; 2 another rebuild is registered and alive (``--force`` replaces it);
3 refused because the topics no longer hold the whole history (the message names each
partition and range of offsets; the read models were left as they were).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from pymongo import AsyncMongoClient
from vrac_runtime.logging import configure_logging

from vrac_reporting import handlers
from vrac_reporting.bootstrap import build_deps
from vrac_reporting.domain.errors import HistoryMissing, RebuildRunning
from vrac_reporting.settings import ReportingSettings


async def run(settings: ReportingSettings, force: bool) -> str:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    try:
        deps = build_deps(settings, client[settings.database])
        await deps.models.initialize()
        stats = await handlers.rebuild(deps, force=force)
    finally:
        await client.close()
    return stats.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--force", action="store_true", help="replace a rebuild that is still registered"
    )
    args = parser.parse_args(argv)
    settings = ReportingSettings()
    configure_logging(f"{settings.service_name}-rebuild", "WARNING")
    try:
        print(asyncio.run(run(settings, args.force)), flush=True)
    except RebuildRunning as err:
        print(f"not started: {err} (use --force to replace it)", file=sys.stderr)
        return 2
    except HistoryMissing as err:
        print(err, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
