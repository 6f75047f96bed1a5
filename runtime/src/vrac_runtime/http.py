"""The HTTP side every service shares: error mapping, the error bodies, the body size
limit and health endpoints.

Bad input gets 422 naming the field, an unknown id 404, a domain rule 409 or 422, a body
over the limit 413; nothing a client sends turns into a 500. Every error body is
``{"detail": "..."}``, a 422 adds ``errors`` (field and problem each), and every route's
OpenAPI document says so (:func:`declare_errors`). Validation errors never echo the submitted
values back, as they may be personal data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vrac_runtime.errors import (
    Conflict,
    DomainError,
    NotFound,
    Refused,
    RuleBroken,
    field_of,
    problem_of,
)

__all__ = [
    "BodyLimit",
    "Conflict",
    "ErrorOut",
    "NotFound",
    "NotReady",
    "RuleBroken",
    "ValidationErrorOut",
    "declare_errors",
    "deps_of",
    "health_router",
    "install_error_handlers",
]

Check = Callable[[], Awaitable[None]]
T = TypeVar("T")


class NotReady(Exception):
    """A readiness check's own verdict; its message (no personal data) is shown in ``checks``."""


class ErrorOut(BaseModel):
    """Every error's body."""

    detail: str = Field(description="What went wrong, in words; never a submitted value.")


class FieldProblem(BaseModel):
    field: str = Field(description="The field's dotted path, e.g. `guardians.0.email`.")
    problem: str = Field(description="What is wrong with it; never the submitted value.")


class ValidationErrorOut(ErrorOut):
    """A 422's body: the summary, and each field's problem."""

    errors: list[FieldProblem]


_ERROR_WORDS = {
    "401": "No bearer token, or one that is not valid (forged, expired).",
    "403": "The token's role may not do this, or the resource belongs to another pilot.",
    "404": "Not found, or not visible to the caller.",
    "409": "The request contradicts the resource's current state.",
    "413": "The request body is larger than the deployment's limit (VRAC_MAX_BODY_BYTES).",
    "422": "A field is missing or invalid; `errors` names each one.",
}


def declare_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Describe in an OpenAPI ``document`` the error bodies every route really sends, in
    place of FastAPI's ``HTTPValidationError``: 422 where a route takes input, 413 where it
    takes a body, 401 and 403 where it needs a token, 404 where its path names a resource,
    409 where it changes one."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (ErrorOut, FieldProblem, ValidationErrorOut):
        schemas[model.__name__] = model.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            for status in _possible_errors(path, method, operation):
                model = ValidationErrorOut if status == "422" else ErrorOut
                given = operation.setdefault("responses", {}).get(status, {})
                operation["responses"][status] = {
                    "description": given.get("description") or _ERROR_WORDS[status],
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{model.__name__}"}
                        }
                    },
                }
    return document


def _possible_errors(path: str, method: str, operation: Mapping[str, Any]) -> list[str]:
    declared = set(operation.get("responses", {}))
    possible = {code for code in _ERROR_WORDS if code in declared}
    if operation.get("parameters") or "requestBody" in operation:
        possible.add("422")
    if "requestBody" in operation or method in ("post", "put", "patch"):
        possible.add("413")
    if operation.get("security"):
        possible |= {"401", "403"}
    if "{" in path:
        possible.add("404")
    if method in ("post", "put", "patch", "delete"):
        possible.add("409")
    return sorted(possible)


class BodyTooLarge(HTTPException):
    """A request body over the limit: 413, raised while the body is read."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class ResponseStatus:
    """An ASGI ``send`` that remembers the status answered: 500 until the app answers, what
    the server sends when the app raised before responding."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)


def route_template(scope: Scope) -> str:
    """The template of the route FastAPI matched (``/cases/{case_id}``), never the path, so
    no id reaches a metric or a span; ``unmatched`` when no route matched."""
    return getattr(scope.get("route"), "path", None) or "unmatched"


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, before anything parses them or
    checks a token: a declared ``Content-Length`` over the limit at once, and any body
    (chunked, or longer than declared) as soon as the bytes read so far pass it, so no more
    than the limit is ever held in memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared(scope) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:  # the route answered before it read the rest: nothing to add
                raise
            await self._refuse(send)

    @staticmethod
    def _declared(scope: Scope) -> int:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                return int(value) if value.isdigit() else 0  # the server refuses a bad one
        return 0

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            status_code=413,
            content={"detail": str(BodyTooLarge(self.max_bytes).detail)},
            headers={"Connection": "close"},
        )
        await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": field_of(tuple(err.get("loc", ()))), "problem": problem_of(err)}
            for err in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
        return JSONResponse(
            status_code=422,
            content={"detail": summary, "errors": errors},
        )

    @app.exception_handler(DomainError)
    async def _refused(_: Request, exc: Exception) -> JSONResponse:
        return domain_error_response(exc)


def domain_error_response(exc: Exception) -> JSONResponse:
    """The one mapping of a domain's refusal to HTTP, for every service."""
    if isinstance(exc, NotFound):
        return JSONResponse(status_code=404, content={"detail": str(exc) or "not found"})
    if isinstance(exc, Refused):
        return JSONResponse(status_code=403, content={"detail": str(exc) or "refused"})
    if isinstance(exc, RuleBroken):
        error = {"field": exc.field, "problem": exc.problem}
        return JSONResponse(status_code=422, content={"detail": str(exc), "errors": [error]})
    if isinstance(exc, Conflict):
        return JSONResponse(status_code=409, content={"detail": str(exc)})
    # a DomainError outside the four bases is a refusal whose kind nobody named
    return JSONResponse(status_code=409, content={"detail": str(exc) or type(exc).__name__})


class ReadyOut(BaseModel):
    status: str = Field(description="`ready` or `not ready`.")
    checks: dict[str, str] = Field(description="Each check: `ok`, or why it fails.")


async def run_checks(checks: Mapping[str, Check]) -> dict[str, str]:
    """Each readiness check's verdict: ``ok``, or ``failing: <why>``."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            await check()
            results[name] = "ok"
        except NotReady as err:
            results[name] = f"failing: {err}"
        except Exception as err:
            results[name] = f"failing: {type(err).__name__}"
    return results


def health_router(
    checks: Mapping[str, Check], on_verdict: Callable[[bool], None] = lambda _: None
) -> APIRouter:
    """``/health/live`` answers while the process runs; ``/health/ready`` runs each check
    and tells ``on_verdict`` whether all passed."""
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/health/ready",
        response_model=ReadyOut,
        responses={503: {"model": ReadyOut, "description": "A check fails."}},
    )
    async def ready() -> JSONResponse:
        results = await run_checks(checks)
        ok = all(value == "ok" for value in results.values())
        on_verdict(ok)
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"status": "ready" if ok else "not ready", "checks": results},
        )

    return router


def deps_of(kind: type[T]) -> Callable[[Request], T]:
    """The FastAPI dependency giving routes the handlers' ``Deps`` of type ``kind``: the one
    the composition root set as ``app.state.deps``."""

    def deps(request: Request) -> T:
        found = request.app.state.deps
        if not isinstance(found, kind):
            raise TypeError(f"app.state.deps is a {type(found).__name__}, not a {kind.__name__}")
        return found

    return deps
