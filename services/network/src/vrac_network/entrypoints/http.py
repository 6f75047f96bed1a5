"""HTTP routes: check the token, map the body to a command, call the handler."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse
from vrac_runtime.auth import ALL_PILOTS, Principal, requires

from vrac_network import handlers
from vrac_network.adapters.store import NetworkStore
from vrac_network.domain.case import Member
from vrac_network.domain.errors import (
    CaseIsClosed,
    InvalidTransition,
    RuleBroken,
    UnknownCase,
    UnknownTask,
)
from vrac_network.entrypoints.schemas import (
    DeclineIn,
    MemberIn,
    MemberOut,
    PlanOut,
    SweepIn,
    SweepOut,
    TaskIn,
    TaskOut,
)

router = APIRouter(tags=["network"])

WRITERS = requires("coach")
READERS = requires("coach", "pilot-lead", "service")
TASK_READERS = requires("coach", "pilot-lead", "service", "agency")
TASK_ACTORS = requires("coach", "agency")


@dataclass(frozen=True)
class PrincipalAccess:
    """Pilot scoping for everyone; an agency only touches tasks assigned to itself."""

    principal: Principal

    def check_case(self, pilot: str) -> None:
        self.principal.ensure_pilot(pilot)

    def check_task(self, pilot: str, assignee: Member | None) -> None:
        self.principal.ensure_pilot(pilot)
        if self.principal.role == "agency" and (
            assignee is None or assignee.agency_id != self.principal.subject
        ):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this task is not assigned to you")


def store(request: Request) -> NetworkStore:
    result: NetworkStore = request.app.state.store
    return result


@router.post("/cases/{case_id}/members", status_code=201, response_model=MemberOut)
async def add_member(
    case_id: str,
    body: MemberIn,
    who: Principal = Depends(WRITERS),
    db: NetworkStore = Depends(store),
) -> MemberOut:
    """Add someone to the case's support network; publishes member-added (internal)."""
    member = await handlers.add_member(db, case_id, body.to_domain(), PrincipalAccess(who))
    return MemberOut.of(member)


@router.get("/cases/{case_id}/members", response_model=list[MemberOut])
async def list_members(
    case_id: str, who: Principal = Depends(READERS), db: NetworkStore = Depends(store)
) -> list[MemberOut]:
    members = await handlers.list_members(db, case_id, PrincipalAccess(who))
    return [MemberOut.of(m) for m in members]


@router.post("/cases/{case_id}/tasks", status_code=201, response_model=TaskOut)
async def assign_task(
    case_id: str,
    body: TaskIn,
    who: Principal = Depends(WRITERS),
    db: NetworkStore = Depends(store),
) -> TaskOut:
    """Give a task to a member of the network; publishes task-assigned."""
    task = await handlers.assign_task(db, case_id, body.to_domain(), PrincipalAccess(who))
    return TaskOut.of(task)


@router.get("/cases/{case_id}/tasks", response_model=list[TaskOut])
async def list_tasks(
    case_id: str, who: Principal = Depends(READERS), db: NetworkStore = Depends(store)
) -> list[TaskOut]:
    tasks = await handlers.tasks_of_case(db, case_id, PrincipalAccess(who))
    return [TaskOut.of(t) for t in tasks]


@router.get("/cases/{case_id}/plan", response_model=PlanOut)
async def care_plan(
    case_id: str, who: Principal = Depends(READERS), db: NetworkStore = Depends(store)
) -> PlanOut:
    """Who is in the network and who does what."""
    return PlanOut.of(await handlers.show_care_plan(db, case_id, PrincipalAccess(who)))


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(
    task_id: str, who: Principal = Depends(TASK_READERS), db: NetworkStore = Depends(store)
) -> TaskOut:
    return TaskOut.of(await handlers.get_task(db, task_id, PrincipalAccess(who)))


@router.post("/tasks/{task_id}/accept", response_model=TaskOut)
async def accept_task(
    task_id: str, who: Principal = Depends(TASK_ACTORS), db: NetworkStore = Depends(store)
) -> TaskOut:
    return TaskOut.of(await handlers.accept_task(db, task_id, PrincipalAccess(who)))


@router.post("/tasks/{task_id}/decline", response_model=TaskOut)
async def decline_task(
    task_id: str,
    body: DeclineIn,
    who: Principal = Depends(TASK_ACTORS),
    db: NetworkStore = Depends(store),
) -> TaskOut:
    task = await handlers.decline_task(db, task_id, body.reason, PrincipalAccess(who))
    return TaskOut.of(task)


@router.post("/tasks/{task_id}/complete", response_model=TaskOut)
async def complete_task(
    task_id: str, who: Principal = Depends(TASK_ACTORS), db: NetworkStore = Depends(store)
) -> TaskOut:
    return TaskOut.of(await handlers.complete_task(db, task_id, PrincipalAccess(who)))


@router.post("/sweeps/overdue", response_model=SweepOut)
async def sweep_overdue(
    body: SweepIn | None = None,
    who: Principal = Depends(requires("coach")),
    db: NetworkStore = Depends(store),
) -> SweepOut:
    """Run the overdue sweep now; a coach sweeps their own pilot, an admin every pilot."""
    as_of = (body.as_of if body else None) or dt.datetime.now(dt.UTC).date()
    pilot = None if who.pilot == ALL_PILOTS else who.pilot
    return SweepOut(as_of=as_of, reported=await handlers.sweep_overdue(db, as_of, pilot))


def install_domain_errors(app: FastAPI) -> None:
    """Unknown ids are 404, state conflicts 409, broken rules 422 naming the field."""

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    async def conflict(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    async def broken(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RuleBroken)
        return JSONResponse(
            status_code=422,
            content={"detail": str(exc), "errors": [{"field": exc.field, "problem": exc.problem}]},
        )

    for missing in (UnknownCase, UnknownTask):
        app.add_exception_handler(missing, not_found)
    for clash in (CaseIsClosed, InvalidTransition):
        app.add_exception_handler(clash, conflict)
    app.add_exception_handler(RuleBroken, broken)
