"""Reading forms into the services' request bodies, and the services' refusals back onto the
form's fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from starlette.datastructures import FormData

from vrac_web.services import Refused


def text(form: FormData, name: str) -> str | None:
    """A text field, trimmed; None when empty or absent."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def number(form: FormData, name: str) -> int | float | str | None:
    """A number field as a number; a value that is not one is passed on as it is, so the
    service names the field in its refusal."""
    value = text(form, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value.replace(",", "."))
    except ValueError:
        return value


def date(form: FormData, name: str) -> str | None:
    value = text(form, name)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        return value  # the service names the field


def without_empty(values: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in values.items() if v is not None}


def field_errors(refused: Refused, renames: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """The refusal's problems by the form's field names: the service's dotted paths, with
    ``renames`` (service prefix -> form prefix) applied."""
    errors: dict[str, str] = {}
    for path, problem in refused.fields.items():
        name = path.removeprefix("body.")
        for service_prefix, form_prefix in renames:
            if name.startswith(service_prefix):
                name = form_prefix + name[len(service_prefix) :]
                break
        errors[name] = problem
    return errors
