"""An SMTP server for the benchmark, in its own process so it takes no time from the driver.

``python -m bench.smtp_sink <port>`` prints ``ready``, accepts every message (counting, not
parsing them), and on SIGTERM prints ``received <n>`` and stops.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def main() -> None:
    port = int(sys.argv[1])
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()
    print(f"received {counter.received}", flush=True)


if __name__ == "__main__":
    main()
