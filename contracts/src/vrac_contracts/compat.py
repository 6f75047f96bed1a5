"""Backward-compatibility check between a released JSON Schema and the current one.

Within a major version the current schema must accept every message the released one
accepted, and must still promise every property the released one promised. Each rule below
that fails is a breaking change: publish it as a new ``.v<major+1>`` topic and type instead.

    uv run python -m vrac_contracts.compat          # compare schemas/ with released/
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

# keywords that only ever restrict what validates, with the direction that tightens them
_LOWER_BOUNDS: Final = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_UPPER_BOUNDS: Final = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")
_EXACT: Final = ("pattern", "format", "multipleOf")
_MAX_DEPTH: Final = 64


@dataclass(frozen=True)
class BreakingChange:
    """One incompatibility: where (a JSON-pointer-like path) and what kind."""

    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


class _Walker:
    def __init__(self, old_root: dict[str, Any], new_root: dict[str, Any]) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.changes: list[BreakingChange] = []

    def add(self, path: str, kind: str, detail: str) -> None:
        self.changes.append(BreakingChange(path or "/", kind, detail))

    @staticmethod
    def _resolve(node: Any, root: dict[str, Any]) -> Any:
        # follow local references ("#/$defs/X"); siblings of $ref override the target
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if not ref.startswith("#/"):
                break
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node

    @staticmethod
    def _variants(node: Any) -> list[Any]:
        if isinstance(node, dict):
            for key in ("anyOf", "oneOf"):
                if key in node:
                    return list(node[key])
            types = node.get("type")
            if isinstance(types, list):
                return [{**node, "type": t} for t in types]
        return [node]

    @staticmethod
    def _kind(node: Any) -> str:
        if node is True or node == {}:
            return "any"
        if node is False:
            return "none"
        if "type" in node:
            return str(node["type"])
        if "const" in node:
            return type(node["const"]).__name__
        if "enum" in node:
            return "enum"
        if "properties" in node:
            return "object"
        return "any"

    def compare(self, old: Any, new: Any, path: str) -> None:
        if path.count("/") > _MAX_DEPTH:  # a recursive schema: stop rather than loop
            return
        old = self._resolve(old, self.old_root)
        new = self._resolve(new, self.new_root)

        old_variants = [self._resolve(v, self.old_root) for v in self._variants(old)]
        new_variants = [self._resolve(v, self.new_root) for v in self._variants(new)]
        if len(old_variants) > 1 or len(new_variants) > 1:
            for variant in old_variants:
                match = self._matching(variant, new_variants)
                if match is None:
                    self.add(path, "narrowed type", f"no longer accepts {self._kind(variant)}")
                else:
                    self.compare(variant, match, path)
            return
        self._compare_single(old_variants[0], new_variants[0], path)

    def _matching(self, old: Any, candidates: list[Any]) -> Any | None:
        kind = self._kind(old)
        for candidate in candidates:
            other = self._kind(candidate)
            if other in (kind, "any") or (kind, other) == ("integer", "number"):
                return candidate
        return None

    def _compare_single(self, old: Any, new: Any, path: str) -> None:
        if new is True or new == {} or old is False:
            return
        if new is False or old is True or old == {}:
            if old != new:
                self.add(path, "narrowed type", "accepts less than before")
            return
        old_kind, new_kind = self._kind(old), self._kind(new)
        if (
            new_kind != "any"
            and old_kind != new_kind
            and (old_kind, new_kind)
            != (
                "integer",
                "number",
            )
        ):
            self.add(path, "narrowed type", f"was {old_kind}, now {new_kind}")
            return

        if "enum" in new:
            old_values = old.get("enum", [old["const"]] if "const" in old else None)
            if old_values is None:
                self.add(path, "narrowed enum", "now limited to a list of values")
            else:
                removed = [v for v in old_values if v not in new["enum"]]
                if removed:
                    self.add(path, "narrowed enum", f"removed {removed}")
        if "const" in new and old.get("const", object()) != new["const"]:
            self.add(path, "narrowed enum", "now a single constant value")

        for key in _UPPER_BOUNDS:
            if key in new and (key not in old or new[key] < old[key]):
                self.add(path, f"tightened {key}", f"{old.get(key, 'none')} -> {new[key]}")
        for key in _LOWER_BOUNDS:
            if key in new and (key not in old or new[key] > old[key]):
                self.add(path, f"tightened {key}", f"{old.get(key, 'none')} -> {new[key]}")
        for key in _EXACT:
            if key in new and old.get(key) != new[key]:
                self.add(path, f"tightened {key}", "added or changed")

        self._compare_object(old, new, path)
        if "items" in old or "items" in new:
            self.compare(old.get("items", True), new.get("items", True), f"{path}/items")

    def _compare_object(self, old: Any, new: Any, path: str) -> None:
        old_props: dict[str, Any] = old.get("properties", {})
        new_props: dict[str, Any] = new.get("properties", {})
        for name, old_prop in old_props.items():
            if name not in new_props:
                self.add(f"{path}/{name}", "removed property", "removed or renamed")
            else:
                self.compare(old_prop, new_props[name], f"{path}/{name}")
        newly_required = set(new.get("required", ())) - set(old.get("required", ()))
        for name in sorted(newly_required):
            self.add(f"{path}/{name}", "newly required property", "was optional or absent")
        old_extra = old.get("additionalProperties", True)
        new_extra = new.get("additionalProperties", True)
        if new_extra is False and old_extra is not False:
            self.add(path, "narrowed type", "no longer allows additional properties")
        elif isinstance(new_extra, dict) and old_extra is not False:
            self.compare(old_extra, new_extra, f"{path}/additionalProperties")


def check_compatibility(released: dict[str, Any], current: dict[str, Any]) -> list[BreakingChange]:
    """Every breaking change from ``released`` to ``current`` (empty when compatible)."""
    walker = _Walker(released, current)
    walker.compare(released, current, "")
    return walker.changes


def check_folders(released_dir: Path, current_dir: Path) -> dict[str, list[BreakingChange]]:
    """Compare each released schema with the current one of the same name.

    A released schema with no current counterpart is itself breaking (the event vanished);
    a current schema that was never released is new, and fine.
    """
    report: dict[str, list[BreakingChange]] = {}
    for released_path in sorted(released_dir.glob("*.json")):
        current_path = current_dir / released_path.name
        if not current_path.exists():
            report[released_path.name] = [
                BreakingChange("/", "removed event", "the schema is no longer published")
            ]
            continue
        released = json.loads(released_path.read_text(encoding="utf-8"))
        current = json.loads(current_path.read_text(encoding="utf-8"))
        changes = check_compatibility(released, current)
        if changes:
            report[released_path.name] = changes
    return report


def main(argv: list[str] | None = None) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    failures = 0
    for major_dir in sorted((root / "released").glob("v*")):
        for name, changes in check_folders(major_dir, root / "schemas").items():
            for change in changes:
                print(f"{major_dir.name}/{name} {change}", file=sys.stderr)
                failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
