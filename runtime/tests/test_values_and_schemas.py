"""The shared request shapes and domain value helpers behave as each service relied on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import pytest
from pydantic import BaseModel, ValidationError
from vrac_runtime.errors import RuleBroken
from vrac_runtime.schemas import Email, Phone, Request, trimmed
from vrac_runtime.values import check_between, from_attributes, optional_text, required_text


class _Body(Request):
    name: Annotated[str, trimmed(5)]
    email: Email | None = None
    phone: Phone | None = None


class _Out(BaseModel):
    kept: int
    renamed: str
    optional: str = "default"


@dataclass
class _Source:
    kept: int
    other: str


def test_a_request_trims_text_and_refuses_blank_long_or_unknown_fields() -> None:
    assert _Body(name="  Ann ", email=" a@b.nl ").model_dump()["name"] == "Ann"
    for bad in ({"name": "   "}, {"name": "toolong"}, {"name": "Ann", "nick": "x"}):
        with pytest.raises(ValidationError):
            _Body.model_validate(bad)
    with pytest.raises(ValidationError):
        _Body(name="Ann", phone="0612345678")


def test_from_attributes_reads_same_names_and_takes_the_rest_as_given() -> None:
    out = from_attributes(_Out, _Source(kept=3, other="x"), renamed="y")
    assert out == _Out(kept=3, renamed="y", optional="default")


def test_value_checks_name_the_field() -> None:
    check_between("year", 2010, 2000, 2020)
    with pytest.raises(RuleBroken, match="year: must be between 2000 and 2020"):
        check_between("year", 1999, 2000, 2020)
    assert required_text("name", "  Ann ") == "Ann"
    with pytest.raises(RuleBroken, match="name: must not be blank"):
        required_text("name", " ")
    assert optional_text("note", "  ", 3) is None
    assert optional_text("note", " ab ", 3) == "ab"
    with pytest.raises(RuleBroken, match="note: at most 3 characters"):
        optional_text("note", "abcd", 3)


def test_value_checks_raise_the_service_s_own_error() -> None:
    class Invalid(RuleBroken):
        pass

    with pytest.raises(Invalid):
        check_between("score", 11, 0, 10, error=Invalid)
