"""Peak memory of processes, as Linux records it (VmHWM: the resident set's high-water mark)."""

from __future__ import annotations

from pathlib import Path

from vrac_testing.infrastructure import state_folder


def peak_mib(pid: int | str = "self") -> float | None:
    """Peak resident memory of a running process in MiB; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def stack_pids(repo: Path) -> dict[str, int]:
    """The pids of the local stack's Kafka and FerretDB, from its state folder."""
    state = state_folder(repo)
    found = {}
    for name in ("kafka", "ferretdb"):
        try:
            found[name] = int((state / "run" / f"{name}.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            continue
    return found
