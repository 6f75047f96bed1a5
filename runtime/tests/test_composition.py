"""The composition every service does (``compose``) and the routes' ``deps_of`` dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from vrac_runtime.http import deps_of
from vrac_runtime.service import ServiceRuntime, build_runtime, compose, create_app
from vrac_runtime.settings import ServiceSettings


@dataclass
class Deps:
    name: str
    seen: list[str] = field(default_factory=list)


class Subscribers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def register(self, runtime: ServiceRuntime) -> None:
        self.deps.seen.append(f"subscribed {self.deps.name}")


router = APIRouter()
D = Annotated[Deps, Depends(deps_of(Deps))]


@router.get("/name")
async def name(d: D) -> dict[str, str]:
    return {"name": d.name}


async def record(deps: Deps) -> None:
    deps.seen.append(f"job {deps.name}")


async def test_overrides_reach_subscribers_jobs_and_routes() -> None:
    runtime = build_runtime(ServiceSettings())
    app = compose(runtime, Deps("mongo"), {"name": "fake"}).app(
        [router],
        title="t",
        description="d",
        subscribers=Subscribers,
        jobs=[("tick", 5.0, record)],
    )
    deps: Deps = app.state.deps
    assert deps.name == "fake"
    assert deps.seen == ["subscribed fake"]
    [(job_name, seconds, job)] = runtime.jobs
    assert (job_name, seconds) == ("tick", 5.0)
    await job()
    assert deps.seen[-1] == "job fake"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/name")).json() == {"name": "fake"}


def test_an_unknown_override_is_refused() -> None:
    runtime = ServiceRuntime.__new__(ServiceRuntime)  # no clients: compose reads none
    with pytest.raises(TypeError):
        compose(runtime, Deps("mongo"), {"mailer": object()})


async def test_deps_of_refuses_an_app_wired_with_other_deps() -> None:
    app = FastAPI()
    app.state.deps = object()
    app.include_router(router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with pytest.raises(TypeError, match="not a Deps"):
            await client.get("/name")


@pytest.mark.integration
async def test_shutdown_steps_run_while_the_store_is_still_open(make_settings) -> None:
    runtime = build_runtime(make_settings("intake"))
    answers: list[object] = []

    async def stop() -> None:
        answers.append((await runtime.db.command("ping"))["ok"])

    app = create_app(runtime, [], title="stops", on_shutdown=[stop])
    async with app.router.lifespan_context(app):
        assert answers == []
    assert answers == [1.0]
