from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from vrac_contracts import (
    ADVICE,
    AdviceAudience,
    AdviceCode,
    ContractError,
    Language,
    Pilot,
    advice_text,
    derived_id,
    new_id,
)
from vrac_contracts.ids import ID_PATTERN, PREFIXES


def test_pilots_and_their_languages() -> None:
    assert [p.value for p in Pilot] == [
        "leiden",
        "mechelen",
        "east-sussex",
        "norwich",
        "lille",
        "wattrelos",
    ]
    assert Pilot.MECHELEN.default_language is Language.NL
    assert Pilot.NORWICH.default_language is Language.EN
    assert Pilot.WATTRELOS.default_language is Language.FR
    assert Pilot.MECHELEN.country == "BE"


def test_every_pilot_has_a_time_zone_the_zone_database_knows() -> None:
    zones = {pilot: ZoneInfo(pilot.time_zone) for pilot in Pilot}
    summer = dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)
    assert zones[Pilot.LILLE].utcoffset(summer) == dt.timedelta(hours=2)
    assert zones[Pilot.NORWICH].utcoffset(summer) == dt.timedelta(hours=1)


def test_library_has_enough_advice_for_every_audience_in_every_language() -> None:
    assert len(ADVICE) >= 18
    assert set(ADVICE) == set(AdviceCode)
    assert {a.audience for a in ADVICE.values()} == set(AdviceAudience)
    for code, entry in ADVICE.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code)
        texts = [entry.text_in(language) for language in Language]
        assert all(10 < len(t) < 200 for t in texts), code
        assert len(set(texts)) == 3, f"{code} is not translated"


def test_advice_text_in_the_recipients_language() -> None:
    assert "working memory" in advice_text("memory-for-reading", "en")
    assert "werkgeheugen" in advice_text(AdviceCode.MEMORY_FOR_READING, Language.NL)
    assert "mémoire" in advice_text("memory-for-reading", "fr")
    assert "quieter place" in advice_text("quiet-place-in-class", "en")


def test_unknown_advice_or_language_is_a_contract_error() -> None:
    with pytest.raises(ContractError):
        advice_text("eat-more-sweets", "en")
    with pytest.raises(ContractError):
        advice_text("memory-for-reading", "de")


def test_new_ids_are_opaque_prefixed_and_unique() -> None:
    ids = {new_id("case") for _ in range(100)}
    assert len(ids) == 100
    for value in ids:
        assert value.startswith("case_")
        assert re.fullmatch(ID_PATTERN, value)
    for kind, prefix in PREFIXES.items():
        assert new_id(kind).startswith(f"{prefix}_")
    with pytest.raises(ValueError):
        new_id("child")


def test_derived_ids_are_deterministic() -> None:
    screening = new_id("screening")
    assert derived_id("diploma", screening) == derived_id("diploma", screening)
    assert derived_id("diploma", screening) != derived_id("diploma", new_id("screening"))
    assert derived_id("diploma", screening).startswith("dip_")
    assert re.fullmatch(ID_PATTERN, derived_id("diploma", screening))
