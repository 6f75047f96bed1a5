"""Container health check: exit 0 when the service's /health/live answers 200, else 1.

Standard library only, so the image needs no curl. The port is the service's HTTP port:
VRAC_HTTP_PORT when set, else the default port of the service named by VRAC_SERVICE.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORTS = {
    "web": 8000,
    "intake": 8001,
    "screening": 8002,
    "network": 8003,
    "notifications": 8004,
    "reporting": 8005,
}


def port() -> int:
    explicit = os.environ.get("VRAC_HTTP_PORT")
    if explicit:
        return int(explicit)
    return DEFAULT_PORTS[os.environ.get("VRAC_SERVICE", "")]


def main() -> int:
    url = f"http://127.0.0.1:{port()}/health/live"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError, ValueError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
