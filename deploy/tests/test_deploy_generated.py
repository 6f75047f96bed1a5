"""The committed Kafka manifests are what the catalogue generates today."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from vrac_contracts.catalogue import CATALOGUE

from .conftest import REPO


def test_committed_files_match_the_catalogue(generator: ModuleType) -> None:
    stale = generator.drifted(REPO)
    assert not stale, (
        f"generated deploy files drifted from the catalogue: {', '.join(stale)}; "
        "run `uv run python deploy/generate.py` (or `make generate`) and commit the result"
    )


def test_drift_check_names_the_edited_file(generator: ModuleType, tmp_path: Path) -> None:
    for relative, text in generator.render().items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    assert generator.drifted(tmp_path) == []

    users = tmp_path / generator.USERS_FILE
    users.write_text(users.read_text().replace("Write", "Read", 1), encoding="utf-8")
    (tmp_path / generator.COMPOSE_TOPICS_FILE).unlink()
    assert sorted(generator.drifted(tmp_path)) == sorted(
        [generator.USERS_FILE, generator.COMPOSE_TOPICS_FILE]
    )


def test_generate_writes_what_check_then_accepts(
    generator: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # main() writes under REPO_ROOT; point it at a scratch folder to see the round trip.
    monkeypatch.setattr(generator, "REPO_ROOT", tmp_path)
    assert generator.main([]) == 0
    assert generator.main(["--check"]) == 0
    shutil.rmtree(tmp_path / "deploy" / "k8s" / "partner")
    assert generator.main(["--check"]) == 1


def test_every_catalogue_topic_and_its_dead_letter_topic_is_declared(generator: ModuleType) -> None:
    docs = list(yaml.safe_load_all((REPO / generator.TOPICS_FILE).read_text()))
    names = [d["metadata"]["name"] for d in docs]
    assert len(names) == len(set(names)), "a topic is declared twice"
    expected = {s.topic for s in CATALOGUE} | {s.dlq_topic for s in CATALOGUE}
    assert set(names) == expected
    for doc in docs:
        assert doc["spec"]["topicName"] == doc["metadata"]["name"]


def test_dead_letters_are_kept_longer_than_events(generator: ModuleType) -> None:
    docs = list(yaml.safe_load_all((REPO / generator.TOPICS_FILE).read_text()))
    retention = {d["metadata"]["name"]: d["spec"]["config"]["retention.ms"] for d in docs}
    day = 24 * 3600 * 1000
    for spec in CATALOGUE:
        assert retention[spec.topic] >= 7 * day, spec.topic
        assert retention[spec.dlq_topic] > retention[spec.topic], spec.dlq_topic
    for doc in docs:
        spec = doc["spec"]
        assert spec["replicas"] >= 3 and spec["config"]["min.insync.replicas"] == 2, (
            f"{doc['metadata']['name']}: acks=all needs replicas >= 3 and min ISR 2 to "
            "survive one broker down"
        )


def test_compose_topic_list_matches_the_catalogue(generator: ModuleType) -> None:
    rows = [
        line.split()
        for line in (REPO / generator.COMPOSE_TOPICS_FILE).read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(len(row) == 3 and row[1].isdigit() and row[2].isdigit() for row in rows)
    assert {row[0] for row in rows} == {s.topic for s in CATALOGUE} | {
        s.dlq_topic for s in CATALOGUE
    }
