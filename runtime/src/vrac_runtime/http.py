"""The HTTP side every service shares: error mapping and health endpoints.

Bad input gets 422 naming the field, an unknown id 404, a domain rule 409 or 422; nothing a
client sends turns into a 500. Validation errors never echo the submitted values back, as
they may be personal data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from vrac_runtime.errors import Conflict, DomainError, NotFound, RuleBroken

__all__ = [
    "Conflict",
    "NotFound",
    "NotReady",
    "RuleBroken",
    "deps_of",
    "health_router",
    "install_error_handlers",
]

Check = Callable[[], Awaitable[None]]
T = TypeVar("T")


class NotReady(Exception):
    """A readiness check's own verdict; its message (no personal data) is shown in ``checks``."""


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(err.get("loc", ()))), "problem": err.get("msg", "invalid")}
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
    if isinstance(exc, RuleBroken):
        error = {"field": exc.field, "problem": exc.problem}
        return JSONResponse(status_code=422, content={"detail": str(exc), "errors": [error]})
    if isinstance(exc, Conflict):
        return JSONResponse(status_code=409, content={"detail": str(exc)})
    # a DomainError outside the three bases is a refusal whose kind nobody named
    return JSONResponse(status_code=409, content={"detail": str(exc) or type(exc).__name__})


def health_router(checks: Mapping[str, Check]) -> APIRouter:
    """``/health/live`` answers while the process runs; ``/health/ready`` runs each check."""
    router = APIRouter(tags=["health"])

    @router.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/health/ready")
    async def ready() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except NotReady as err:
                results[name] = f"failing: {err}"
            except Exception as err:
                results[name] = f"failing: {type(err).__name__}"
        ok = all(value == "ok" for value in results.values())
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
