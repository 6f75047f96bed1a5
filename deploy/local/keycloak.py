"""The local stack's identity provider: Keycloak in development mode, as a plain process.

    python3 deploy/local/stack.py keycloak-start   # fetch (first run), start, wait for the realm
    python3 deploy/local/stack.py keycloak-stop

``stack.py`` owns the process (pid file, log, stop, status); this module knows Keycloak:

- the distribution ``org.keycloak:keycloak-quarkus-dist`` (the version pinned in
  ``keycloak-pom.xml``), which Maven fetches from Maven Central and unpacks into the state
  folder once;
- a Java 21 or newer runtime, which Keycloak 26 needs while Kafka runs on 17: found in
  ``VRAC_KEYCLOAK_JAVA_HOME``, ``JAVA_HOME``, the ``java`` on PATH, or the usual JVM folders;
- the command line: ``start-dev`` on 127.0.0.1 (``VRAC_KEYCLOAK_PORT``, default 8180), an
  in-memory database, so every start imports ``deploy/keycloak/local/vrac-realm.json`` afresh
  (the realm file is the truth; changes made in the admin console last until the stop), and
  the bootstrap administrator from ``VRAC_KEYCLOAK_ADMIN`` / ``VRAC_KEYCLOAK_ADMIN_PASSWORD``.

Ready means the realm's OpenID discovery document answers with its issuer. Standard library
only, like ``stack.py``.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
POM = HERE / "keycloak-pom.xml"
REALM = "vrac"
REALM_FILE = REPO / "deploy" / "keycloak" / "local" / f"{REALM}-realm.json"
MIN_JAVA = 21
# Where Java runtimes are usually installed; searched when no setting names one.
JVM_PATTERNS = (
    "/usr/lib/jvm/*/bin/java",
    "/usr/local/lib/jvm/*/bin/java",
    "/opt/java/*/bin/java",
    "/opt/*jdk*/bin/java",
    "~/.sdkman/candidates/java/*/bin/java",
    "/Library/Java/JavaVirtualMachines/*/Contents/Home/bin/java",
)

Step = Callable[..., AbstractContextManager[None]]


class KeycloakError(Exception):
    """A problem the operator can fix; printed as one line."""


@dataclass(frozen=True)
class Settings:
    port: int
    admin: str
    admin_password: str
    java_home: str  # empty: search

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw = env.get("VRAC_KEYCLOAK_PORT", "8180")
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise KeycloakError(f"VRAC_KEYCLOAK_PORT={raw!r} is not a TCP port number")
        return cls(
            port=int(raw),
            admin=env.get("VRAC_KEYCLOAK_ADMIN", "admin"),
            # the local administrator's password: development only
            admin_password=env.get("VRAC_KEYCLOAK_ADMIN_PASSWORD", "admin-dev-only"),
            java_home=env.get("VRAC_KEYCLOAK_JAVA_HOME", ""),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"


def version() -> str:
    """The Keycloak version pinned in the pom (one place for it)."""
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    found = ElementTree.parse(POM).find("m:properties/m:keycloak.version", namespace)
    if found is None or not found.text:
        raise KeycloakError(f"{POM.name} names no keycloak.version")
    return found.text.strip()


# --- Java ------------------------------------------------------------------------------------


def java_major(java: str) -> int:
    """The feature version of a java binary (``17``, ``25``), or 0 when it does not run."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    try:
        number = out.stderr.split('"')[1]
    except IndexError:
        return 0
    parts = number.split(".")
    head = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]  # 1.8 is Java 8
    digits = "".join(c for c in head if c.isdigit())
    return int(digits) if digits else 0


def find_java(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    """A java binary of version 21 or newer: ``VRAC_KEYCLOAK_JAVA_HOME`` when set (and then
    only it), else ``JAVA_HOME``, the ``java`` on PATH, and the newest one in the usual JVM
    folders. Its home goes to Keycloak's start script as ``JAVA_HOME``."""
    env = os.environ if env is None else env
    if settings.java_home:
        java = Path(settings.java_home) / "bin" / "java"
        major = java_major(str(java))
        if major < MIN_JAVA:
            found = f"Java {major}" if major else "no runnable java"
            raise KeycloakError(
                f"VRAC_KEYCLOAK_JAVA_HOME={settings.java_home} has {found}; "
                f"Keycloak {version()} needs Java {MIN_JAVA} or newer"
            )
        return java
    candidates: list[str] = []
    if env.get("JAVA_HOME"):
        candidates.append(str(Path(env["JAVA_HOME"]) / "bin" / "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    for pattern in JVM_PATTERNS:
        candidates += sorted(glob.glob(os.path.expanduser(pattern)))
    seen: dict[str, int] = {}
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if real not in seen:
            seen[real] = java_major(real)
    usable = {path: major for path, major in seen.items() if major >= MIN_JAVA}
    if usable:
        return Path(max(usable, key=lambda path: usable[path]))
    found = ", ".join(f"{p} (Java {m})" for p, m in seen.items() if m) or "no java at all"
    raise KeycloakError(
        f"Keycloak {version()} needs Java {MIN_JAVA} or newer and found {found}; install one "
        "(Debian: apt-get install openjdk-21-jre-headless) or set VRAC_KEYCLOAK_JAVA_HOME"
    )


# --- the distribution --------------------------------------------------------------------------


def distribution(state: Path, logs: Path, step: Step) -> Path:
    """The unpacked distribution in the state folder, fetched by Maven the first time (Maven
    keeps the zip in its own repository, so another clone only unpacks it)."""
    release = version()
    home = state / f"keycloak-{release}"
    if (home / "bin" / "kc.sh").is_file() and (home / "lib").is_dir():
        return home
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KeycloakError("'mvn' was not found on PATH: install Apache Maven 3")
    log = logs / "keycloak-maven.log"
    with (
        step(f"fetching Keycloak {release} from Maven Central with Maven (first run only)", log),
        log.open("w") as out,
        tempfile.TemporaryDirectory(dir=state, prefix=".keycloak-") as work,
    ):
        done = subprocess.run(
            [
                mvn,
                "-B",
                "-q",
                "-f",
                str(POM),
                "dependency:unpack",
                f"-Dvrac.keycloak.work={work}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        unpacked = Path(work) / "dist" / f"keycloak-{release}"
        if done.returncode != 0 or not (unpacked / "bin" / "kc.sh").is_file():
            raise KeycloakError(f"Maven could not fetch Keycloak {release}; see {log}")
        shutil.rmtree(home, ignore_errors=True)
        unpacked.replace(home)
    return home


def install_realm(home: Path) -> None:
    """Put the generated local realm where ``--import-realm`` reads it, and nothing else."""
    if not REALM_FILE.is_file():
        raise KeycloakError(f"{REALM_FILE} is missing: run `make generate`")
    folder = home / "data" / "import"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copyfile(REALM_FILE, folder / REALM_FILE.name)


def command(home: Path, java: Path, settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The start script's command line and environment."""
    argv = [
        shutil.which("bash") or "/bin/bash",
        str(home / "bin" / "kc.sh"),
        "start-dev",
        "--http-host=127.0.0.1",
        f"--http-port={settings.port}",
        # a fixed issuer, whether a client says localhost or 127.0.0.1
        f"--hostname={settings.base_url}",
        "--db=dev-mem",
        "--import-realm",
    ]
    env = {
        **os.environ,
        "JAVA_HOME": str(java.resolve().parent.parent),
        "KC_BOOTSTRAP_ADMIN_USERNAME": settings.admin,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": settings.admin_password,
    }
    return argv, env


def realm_answers(port: int) -> bool:
    """The realm's discovery document answers and names the issuer tokens will carry."""
    url = f"http://127.0.0.1:{port}/realms/{REALM}/.well-known/openid-configuration"
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            issuer = json.load(answer).get("issuer", "")
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return bool(issuer.endswith(f"/realms/{REALM}"))
