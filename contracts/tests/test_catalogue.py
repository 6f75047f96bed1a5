from __future__ import annotations

import pytest
from vrac_contracts import CATALOGUE, SERVICES, ContractError, by_topic, by_type, spec_for
from vrac_contracts.catalogue import (
    PUBLIC_TOPIC_PREFIX,
    Audience,
    consumed_by,
    consumer_group,
    consumer_groups,
)
from vrac_contracts.events import CaseOpened, ScreeningCompleted


def test_lookup_by_type_topic_and_model() -> None:
    spec = by_type("org.vrac.screening.screening-completed.v1")
    assert spec.model is ScreeningCompleted
    assert by_topic("vrac.public.screening.screening-completed.v1") is spec
    assert spec_for(ScreeningCompleted) is spec
    assert spec.dlq_topic == "vrac.dlq.public.screening.screening-completed.v1"
    assert not spec.dlq_topic.startswith(PUBLIC_TOPIC_PREFIX)
    assert spec.source == "/vrac/screening"
    assert spec.key_field == "case_id"


@pytest.mark.parametrize("lookup", [by_type, by_topic])
def test_unknown_names_raise_contract_error(lookup) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractError):
        lookup("org.vrac.intake.case-lost.v1")


def test_every_issue_event_is_catalogued_with_its_audience() -> None:
    audiences = {(s.service, s.event): s.audience for s in CATALOGUE}
    internal = {
        ("intake", "family-registered"),
        ("intake", "consent-recorded"),
        ("intake", "guardian-removed"),
        ("network", "member-added"),
        ("network", "member-removed"),
        ("network", "member-edited"),
        ("network", "task-due-soon"),
        ("network", "task-edited"),
        ("network", "task-reassigned"),
        ("network", "task-cancelled"),
        ("network", "network-measured"),
        ("screening", "findings-recorded"),
        ("screening", "wellbeing-measured"),
        ("notifications", "notification-delivered"),
        ("notifications", "notification-failed"),
        # the audit trail: each service's own topic, kept by intake
        ("intake", "access-recorded"),
        ("screening", "access-recorded"),
        ("network", "access-recorded"),
        ("notifications", "access-recorded"),
    }
    public = {
        ("intake", "case-opened"),
        ("intake", "case-closed"),
        ("intake", "consent-changed"),
        ("screening", "screening-completed"),
        ("screening", "diploma-issued"),
        ("screening", "questionnaire-submitted"),
        ("network", "task-assigned"),
        ("network", "task-accepted"),
        ("network", "task-declined"),
        ("network", "task-completed"),
        ("network", "task-overdue"),
    }
    assert audiences == {
        **{k: Audience.INTERNAL for k in internal},
        **{k: Audience.PUBLIC for k in public},
    }


def test_consumers() -> None:
    def events(service: str) -> set[str]:
        return {s.event for s in consumed_by(service)}

    assert events("screening") == {
        "case-opened",
        "case-closed",
        "consent-recorded",
        "family-registered",
        "findings-recorded",
    }
    assert events("network") == {"case-opened", "case-closed", "consent-recorded"}
    assert events("notifications") == {
        "family-registered",
        "member-added",
        "member-edited",
        "member-removed",
        "guardian-removed",
        "consent-recorded",
        "case-closed",
        "case-opened",
        "task-assigned",
        "task-overdue",
        "task-declined",
        "task-due-soon",
        "diploma-issued",
        "findings-recorded",
    }
    # reporting counts every public event still published, and the wellbeing outcomes and
    # networks' measures it only ever shows suppressed; nothing reads a superseded one
    assert {s.ce_type for s in consumed_by("reporting")} == {
        s.ce_type for s in CATALOGUE if s.audience == "public" and not s.superseded_by
    } | {"org.vrac.screening.wellbeing-measured.v1", "org.vrac.network.network-measured.v1"}
    assert all(not s.consumers for s in CATALOGUE if s.superseded_by)
    # intake keeps the audit trail of every service, its own included
    assert events("intake") == {"access-recorded"}
    assert {s.service for s in consumed_by("intake")} == {
        "intake",
        "screening",
        "network",
        "notifications",
    }
    for spec in CATALOGUE:
        assert set(spec.consumers) <= set(SERVICES)
        assert spec.service not in spec.consumers or spec.event in (
            "findings-recorded",
            "access-recorded",
        )


def test_consumer_groups() -> None:
    assert consumer_group("screening") == "vrac.screening"
    assert consumer_group("screening", "diploma-maker") == "vrac.screening.diploma-maker"
    assert by_type("org.vrac.screening.findings-recorded.v1").group_for("screening") == (
        "vrac.screening.diploma-maker"
    )
    assert spec_for(CaseOpened).group_for("screening") == "vrac.screening"
    assert consumer_groups("screening") == ("vrac.screening", "vrac.screening.diploma-maker")
    with pytest.raises(ContractError):
        consumer_group("billing")
    with pytest.raises(ContractError):
        consumer_group("screening", "Diploma Maker")
    with pytest.raises(ContractError):
        spec_for(CaseOpened).group_for("intake")
