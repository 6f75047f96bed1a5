"""Regenerate every committed contract artefact from the catalogue.

    uv run python -m vrac_contracts.generate            # write the files
    uv run python -m vrac_contracts.generate --check    # exit 1 naming any file that drifted
    uv run python -m vrac_contracts.generate --release  # copy schemas to released/v<major>/

Writes ``schemas/<ce-type>.json``, ``asyncapi.yaml``, ``catalogue.json``, ``advice.json`` and
the generated tables of ``README.md`` (between the ``BEGIN GENERATED``/``END GENERATED``
markers) in the contracts folder.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from .advice import ADVICE
from .catalogue import (
    CATALOGUE,
    PUBLIC_TOPIC_PREFIX,
    SERVICES,
    Audience,
    EventSpec,
    consumer_groups,
)
from .envelope import CONTENT_TYPE, SPECVERSION
from .ids import ID_PATTERN
from .schema import DIALECT, event_schema

PACKAGE_ROOT: Final = Path(__file__).resolve().parents[2]
SCHEMA_FORMAT: Final = "application/schema+json;version=draft-2020-12"
CASE_ID_PATTERN: Final = r"^case_[0-9A-Za-z]{8,40}$"


def _package_version() -> str:
    try:
        return version("vrac-contracts")
    except PackageNotFoundError:  # running from a plain checkout
        return "0+unknown"


def _dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _dump_yaml(data: Any) -> str:
    import yaml  # only the generator needs it

    class _NoAliases(yaml.SafeDumper):
        # shared $ref dicts would otherwise become YAML anchors, which some tools reject
        def ignore_aliases(self, data: Any) -> bool:
            return True

    text = yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)
    return str(text)


def _message_id(spec: EventSpec) -> str:
    return spec.ce_type


# W3C Trace Context, version 00: trace id, parent (span) id, flags
TRACEPARENT_PATTERN = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


def _cloudevents_headers(spec: EventSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0 attributes, Kafka protocol binding, binary mode.",
        "required": ["ce_id", "ce_source", "ce_specversion", "ce_type", "content-type"],
        "properties": {
            "ce_id": {
                "type": "string",
                "description": "Event id; the same on every re-publish of one event.",
            },
            "ce_source": {"type": "string", "const": spec.source},
            "ce_specversion": {"type": "string", "const": SPECVERSION},
            "ce_type": {"type": "string", "const": spec.ce_type},
            "ce_time": {
                "type": "string",
                "format": "date-time",
                "description": "When the event occurred (RFC 3339).",
            },
            "ce_subject": {
                "type": "string",
                "pattern": CASE_ID_PATTERN,
                "description": "The case id, equal to the message key.",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE},
            "ce_traceparent": {
                "type": "string",
                "pattern": TRACEPARENT_PATTERN,
                "description": "CloudEvents distributed-tracing extension: the W3C trace "
                "context of the publish (ids and flags only, no personal data); optional.",
            },
            "ce_tracestate": {
                "type": "string",
                "description": "W3C tracestate accompanying ce_traceparent; optional.",
            },
        },
    }


def _received(spec: EventSpec) -> str:
    """How a receive operation names its event: by the event alone, unless several services
    publish an event of that name (the audit trail's access-recorded), then with its sender."""
    shared = sum(1 for other in CATALOGUE if other.event == spec.event) > 1
    name = f"{spec.service}.{spec.event}" if shared else spec.event
    return f"{name}.v{spec.major}"


def asyncapi() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the whole platform."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in CATALOGUE:
        message_ref = {"$ref": f"#/channels/{spec.topic}/messages/{spec.event}"}
        channel_ref = {"$ref": f"#/channels/{spec.topic}"}
        channels[spec.topic] = {
            "address": spec.topic,
            "title": spec.event,
            "description": spec.description,
            "messages": {spec.event: {"$ref": f"#/components/messages/{_message_id(spec)}"}},
            "x-vrac-audience": str(spec.audience),
            "x-vrac-dlq": spec.dlq_topic,
        }
        if spec.superseded_by:
            channels[spec.topic]["x-vrac-superseded-by"] = spec.superseded_by
        messages[_message_id(spec)] = {
            "name": spec.event,
            "title": spec.model.__name__,
            "summary": spec.description,
            "contentType": CONTENT_TYPE,
            "headers": _cloudevents_headers(spec),
            "payload": {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": spec.schema_file}},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "pattern": CASE_ID_PATTERN},
                    "bindingVersion": "0.5.0",
                }
            },
            "examples": [{"name": f"{spec.event}-example", "payload": spec.example}],
        }
        if spec.superseded_by:
            continue  # no longer sent, so nobody receives it either
        operations[f"{spec.service}.send.{spec.event}.v{spec.major}"] = {
            "action": "send",
            "title": f"{spec.service} publishes {spec.event}",
            "channel": channel_ref,
            "messages": [message_ref],
            "tags": [{"name": spec.service}],
        }
        for consumer in spec.consumers:
            group = spec.group_for(consumer)
            operations[f"{group.removeprefix('vrac.')}.receive.{_received(spec)}"] = {
                "action": "receive",
                "title": f"{consumer} consumes {spec.event}",
                "channel": channel_ref,
                "messages": [message_ref],
                "tags": [{"name": consumer}],
                "bindings": {
                    "kafka": {
                        "groupId": {"type": "string", "enum": [group]},
                        "bindingVersion": "0.5.0",
                    }
                },
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "VRAC platform events",
            "version": _package_version(),
            "description": (
                "Every event of the VRAC platform. Messages are CloudEvents 1.0 in the Kafka "
                "binary content mode: data as JSON in the value, attributes as ce_* headers, "
                "the case id as key. Topics under `vrac.public.` carry no personal data and "
                "are open to partners; `vrac.internal.` topics are service-to-service."
            ),
            "tags": [{"name": service} for service in SERVICES],
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "Set to the bootstrap servers you were given.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def catalogue_json() -> dict[str, Any]:
    """The catalogue for systems outside Python."""
    return {
        "version": _package_version(),
        "specversion": SPECVERSION,
        "contentMode": "binary",
        "contentType": CONTENT_TYPE,
        "idPattern": ID_PATTERN,
        "publicTopicPrefix": PUBLIC_TOPIC_PREFIX,
        "events": [
            {
                "topic": spec.topic,
                "type": spec.ce_type,
                "audience": str(spec.audience),
                "key": spec.key_field,
                "source": spec.source,
                "description": spec.description,
                "producer": spec.service,
                "consumers": [{"service": c, "group": spec.group_for(c)} for c in spec.consumers],
                "schema": spec.schema_file,
                "dlqTopic": spec.dlq_topic,
                **({"supersededBy": spec.superseded_by} if spec.superseded_by else {}),
            }
            for spec in CATALOGUE
        ],
        "consumerGroups": {service: list(consumer_groups(service)) for service in SERVICES},
    }


def advice_json() -> dict[str, Any]:
    """The advice library, so partners can show advice text without Python."""
    return {
        "advice": {
            str(code): {
                "audience": str(entry.audience),
                "domain": str(entry.domain),
                "text": {str(lang): text for lang, text in entry.text.items()},
            }
            for code, entry in ADVICE.items()
        }
    }


def public_topics_table() -> str:
    rows = [
        "| topic | what it means | schema |",
        "|---|---|---|",
    ]
    for spec in CATALOGUE:
        if spec.audience is Audience.PUBLIC:
            rows.append(
                f"| `{spec.topic}` | {_described(spec)} | [{spec.ce_type}]({spec.schema_file}) |"
            )
    return "\n".join(rows)


def internal_topics_table() -> str:
    rows = ["| topic | producer | consumers |", "|---|---|---|"]
    for spec in CATALOGUE:
        if spec.audience is Audience.INTERNAL:
            consumers = ", ".join(spec.consumers) or "-"
            if spec.superseded_by:
                consumers = f"no longer published: see {spec.superseded_by}"
            rows.append(f"| `{spec.topic}` | {spec.service} | {consumers} |")
    return "\n".join(rows)


def _described(spec: EventSpec) -> str:
    if spec.superseded_by:
        return f"**Deprecated, no longer published**: use {spec.superseded_by}. {spec.description}"
    return spec.description


_SECTION = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n).*?(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)
_SECTIONS: Final = {"public-topics": public_topics_table, "internal-topics": internal_topics_table}


def render_readme(text: str) -> str:
    """``text`` with every generated section filled in afresh."""

    def fill(match: re.Match[str]) -> str:
        render = _SECTIONS.get(match["name"])
        if render is None:
            return match[0]
        return f"{match[1]}{render()}\n{match[3]}"

    return _SECTION.sub(fill, text)


def artefacts(root: Path) -> dict[Path, str]:
    """Every generated file under ``root`` with its expected content."""
    files: dict[Path, str] = {
        root / spec.schema_file: _dump_json(event_schema(spec)) for spec in CATALOGUE
    }
    files[root / "asyncapi.yaml"] = _dump_yaml(asyncapi())
    files[root / "catalogue.json"] = _dump_json(catalogue_json())
    files[root / "advice.json"] = _dump_json(advice_json())
    readme = root / "README.md"
    if readme.exists():
        files[readme] = render_readme(readme.read_text(encoding="utf-8"))
    return files


def drifted(root: Path) -> list[Path]:
    """Generated files that are missing or differ, plus stale schema files."""
    expected = artefacts(root)
    stale = [path for path in sorted((root / "schemas").glob("*.json")) if path not in expected]
    changed = [
        path
        for path, text in expected.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    return changed + stale


def write(root: Path) -> list[Path]:
    written = []
    for path in drifted(root):
        if path in (expected := artefacts(root)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(expected[path], encoding="utf-8")
        else:
            path.unlink()
        written.append(path)
    return written


def release(root: Path) -> list[Path]:
    """Record the current schemas as the released ones of their major version."""
    written = []
    for spec in CATALOGUE:
        target = root / "released" / f"v{spec.major}" / f"{spec.ce_type}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_dump_json(event_schema(spec)), encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vrac_contracts.generate")
    parser.add_argument("--root", type=Path, default=PACKAGE_ROOT, help="the contracts folder")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail if a file would change")
    mode.add_argument("--release", action="store_true", help="copy schemas to released/")
    args = parser.parse_args(argv)
    root: Path = args.root
    if not (root / "pyproject.toml").exists():
        parser.error(f"{root} is not the contracts folder; pass --root")
    if args.check:
        stale = drifted(root)
        for path in stale:
            print(f"drifted: {path.relative_to(root)}", file=sys.stderr)
        if stale:
            print("run: uv run python -m vrac_contracts.generate", file=sys.stderr)
        return 1 if stale else 0
    if args.release:
        for path in release(root):
            print(f"released {path.relative_to(root)}")
        return 0
    for path in write(root):
        print(f"wrote {path.relative_to(root)}")
    return 0


__all__ = ["DIALECT", "artefacts", "asyncapi", "catalogue_json", "drifted", "main"]

if __name__ == "__main__":
    sys.exit(main())
