"""More Kafka clusters than the local stack's one, and MirrorMaker 2 between them.

For tests of a topology that spans clusters (the consortium, see ``deploy/README.md``):

- ``KafkaNode``: a single-node KRaft broker started exactly as the local stack starts its
  own (``deploy/local/stack.py``: same jars, storage format, listeners and readiness probe),
  on free ports, with its storage and logs in a folder of the caller;
- ``MirrorMaker``: a dedicated MirrorMaker 2 (what ``connect-mirror-maker.sh`` runs) from the
  same Kafka release, its jars pinned by ``deploy/local/mirror-pom.xml`` and resolved by Maven
  once into the stack's cache, reading a properties file written into its folder.

Both are context managers that stop their process on exit (SIGTERM, then SIGKILL after 30 s).
Each runs in a JVM of ``heap`` memory; on two cores MirrorMaker takes a minute or so before it
copies anything, so wait for its effect with a generous ``polling.eventually``.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Self

from vrac_testing.infrastructure import repo_root
from vrac_testing.processes import free_port

MIRROR_MAKER_MAIN = "org.apache.kafka.connect.mirror.MirrorMaker"
_STOP_SECONDS = 30


def local_stack() -> ModuleType:
    """The local stack's launcher as a module (it is a script, standard library only)."""
    name = "vrac_local_stack"
    if name not in sys.modules:
        path = repo_root() / "deploy" / "local" / "stack.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules[name]


def _config(folder: Path, timeout: float, heap: str, **ports: int) -> Any:
    """A stack configuration whose state is ``folder``; the cache stays the stack's own."""
    stack = local_stack()
    cfg = replace(stack.Config.from_env(), state=folder.resolve(), timeout=timeout, kafka_heap=heap)
    cfg = replace(cfg, **ports)
    for path in (cfg.state, cfg.logs, cfg.run, cfg.cache):
        path.mkdir(parents=True, exist_ok=True)
    return cfg


class _Stoppable:
    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class KafkaNode(_Stoppable):
    """One more single-node Kafka cluster, plaintext on ``bootstrap``."""

    folder: Path
    heap: str = "384m"
    timeout: float = 240.0
    _cfg: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._cfg = _config(
            self.folder,
            self.timeout,
            self.heap,
            kafka_port=free_port(),
            controller_port=free_port(),
            sasl_port=free_port(),
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self._cfg.kafka_port}"

    @property
    def log(self) -> Path:
        return Path(self._cfg.logs) / "kafka.log"

    def start(self) -> Self:
        """Format the storage, start the broker and return once it answers metadata."""
        stack = local_stack()
        java = stack.require_java()
        classpath = stack.kafka_classpath(self._cfg)
        try:
            stack.start_kafka(self._cfg, java, classpath)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        stack = local_stack()
        stack.stop(self._cfg, stack.kafka(self._cfg))


@dataclass
class MirrorMaker(_Stoppable):
    """A dedicated MirrorMaker 2 running ``properties`` (the text of its properties file)."""

    properties: str
    folder: Path
    heap: str = "384m"
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def log(self) -> Path:
        return self.folder / "logs" / "mirror-maker.log"

    def start(self) -> Self:
        """Start the process; it copies records once its connectors run (no readiness
        signal of its own: wait for the records)."""
        stack = local_stack()
        cfg = _config(self.folder, 0.0, self.heap)
        java = stack.require_java()
        classpath = stack.kafka_classpath(cfg, stack.HERE / "mirror-pom.xml")
        props = self.folder / "mm2.properties"
        props.write_text(self.properties)
        argv = [
            java,
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={stack.HERE / 'log4j2.properties'}",
            f"-Dvrac.kafka.log={self.log}",
            "-cp",
            classpath,
            MIRROR_MAKER_MAIN,
            str(props),
        ]
        with (self.folder / "logs" / "mirror-maker.out").open("ab") as out:
            self.process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=self.folder,
            )
        return self

    def check(self) -> None:
        """Raise when the process has exited: waiting for its copies would be in vain."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"MirrorMaker 2 exited with {self.process.returncode}; see {self.log}"
            )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
