"""Error texts for HTTP answers, logs and dead-letter headers: fields and problems, never the
submitted value; and the error bodies every OpenAPI document declares."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field, ValidationError, field_validator
from vrac_runtime.errors import describe
from vrac_runtime.http import declare_errors, install_error_handlers
from vrac_runtime.logging import configure_logging, get_logger

SECRET = "Jansen-Zwart"


class Guardian(BaseModel):
    name: str = Field(max_length=5)
    ref: uuid.UUID

    @field_validator("name")
    @classmethod
    def _no_digits(cls, name: str) -> str:
        if any(c.isdigit() for c in name):
            raise ValueError("must not contain digits")
        return name


def _invalid(**fields: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Guardian.model_validate({"name": "x", "ref": str(uuid.uuid4()), **fields})
    return caught.value


def test_a_validation_error_is_described_by_its_fields_and_problems_only() -> None:
    err = _invalid(name=SECRET, ref=f"{SECRET}-0000")
    assert SECRET in str(err)  # pydantic's own text quotes the input
    text = describe(err)
    assert SECRET not in text and "J" not in text.replace("ValidationError", "")
    assert text.startswith("ValidationError: name: String should have at most 5 characters")
    assert "ref: Input should be a valid UUID" in text


def test_other_errors_keep_their_message_on_one_bounded_line() -> None:
    assert describe(ConnectionError("broker\n down")) == "ConnectionError: broker down"
    assert len(describe(RuntimeError("x" * 1000))) < 320
    assert describe(TimeoutError()) == "TimeoutError"


def app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/guardians")
    async def add(body: Guardian) -> dict[str, str]:
        return {"name": body.name}

    return app


async def test_a_422_names_each_field_without_its_value() -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app()), base_url="http://test"
    ) as client:
        response = await client.post("/guardians", json={"name": f"{SECRET}7", "ref": SECRET})
    assert response.status_code == 422
    assert SECRET not in response.text
    assert response.json()["errors"] == [
        {"field": "name", "problem": "String should have at most 5 characters"},
        {"field": "ref", "problem": "Input should be a valid UUID"},
    ]


def test_the_document_declares_the_error_bodies_sent() -> None:
    document = declare_errors(app().openapi())
    responses = document["paths"]["/guardians"]["post"]["responses"]
    assert set(responses) == {"200", "409", "413", "422"}
    schema = responses["422"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ValidationErrorOut"}
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["ValidationErrorOut"]["required"] == ["detail", "errors"]


def test_a_logged_validation_error_keeps_its_trace_but_not_its_input(capsys) -> None:
    configure_logging("intake")
    try:
        raise _invalid(name=SECRET)
    except ValidationError:
        get_logger("test").exception("request failed")
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert SECRET not in line["exception"]
        assert "name: String should have at most 5 characters" in line["exception"]
        assert "_invalid" in line["exception"]  # the trace is kept
