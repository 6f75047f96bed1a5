"""HTTP routes: check the token, map the body to a command, call the handler. Every route
about a case is recorded in the audit trail (``vrac_runtime.audit``).

The family's link (``vrac_runtime.family``, signed by intake) opens its own case's tasks and
members. Network checks its signature, expiry and case, but cannot see intake's
revocations: the web app asks intake first on every family page, so a revoked link stops
there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from vrac_runtime.audit import CaseRef, audited
from vrac_runtime.auth import ALL_PILOTS, LINK_INVALID, Principal, open_link, requires
from vrac_runtime.family import ANOTHER_CASE, FamilyGrant, requires_or_family
from vrac_runtime.http import deps_of

from vrac_network import handlers
from vrac_network.domain import commands
from vrac_network.domain.case import Case, Member
from vrac_network.domain.ecomap import eco_map
from vrac_network.domain.links import Answer, TaskLink
from vrac_network.domain.task import TaskStatus
from vrac_network.entrypoints.schemas import (
    AnswerIn,
    DeclineIn,
    HelperTaskOut,
    MemberIn,
    MemberOut,
    MemberPatchIn,
    PlanOut,
    ReassignIn,
    RelationIn,
    RelationOut,
    SweepIn,
    SweepOut,
    TaskIn,
    TaskLinkIn,
    TaskLinkOut,
    TaskOut,
    TaskPatchIn,
)


async def _locate(request: Request, params: Mapping[str, str]) -> CaseRef | None:
    """The case a route is about, for the audit trail: named in the path, or the task's."""
    d = deps(request)
    if "task_id" in params:
        task = await d.tasks.get_task(params["task_id"])
        return None if task is None else CaseRef(task.case_id, task.pilot)
    case = await d.cases.get_case(params["case_id"]) if "case_id" in params else None
    return None if case is None else CaseRef(case.case_id, case.pilot)


router = APIRouter(tags=["network"], dependencies=[audited(_locate)])


@dataclass(frozen=True)
class PrincipalAccess:
    """Pilot scoping for everyone; an agency only touches tasks assigned to itself."""

    principal: Principal

    def check_case(self, pilot: str) -> None:
        self.principal.ensure_pilot(pilot)

    def check_task(self, case: Case, assignee: Member | None) -> None:
        self.principal.ensure_pilot(case.pilot)
        if self.principal.role != "agency":
            return
        agency = self.principal.subject
        if assignee is None or assignee.removed or assignee.agency_id != agency:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this task is not assigned to you")
        if case.agency_consent(agency) is not True:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "the family does not share this case with your agency"
            )


@dataclass(frozen=True)
class FamilyAccess:
    """The family's link reads its own case: the route checked the case id; the pilot
    check keeps any other case shut as well."""

    grant: FamilyGrant

    def check_case(self, pilot: str) -> None:
        if pilot != self.grant.pilot:
            raise HTTPException(status.HTTP_403_FORBIDDEN, ANOTHER_CASE)

    def check_task(self, case: Case, assignee: Member | None) -> None:
        self.grant.ensure_case(case.case_id)


def _family_or_staff(*roles: str) -> Callable[..., Any]:
    """A dependency: the caller as the handlers' Access, for a route about the case in its
    path; a family link only for its own case (403)."""

    def dependency(
        case_id: str, who: Principal | FamilyGrant = Depends(requires_or_family(*roles))
    ) -> PrincipalAccess | FamilyAccess:
        if isinstance(who, FamilyGrant):
            who.ensure_case(case_id)
            return FamilyAccess(who)
        return PrincipalAccess(who)

    return dependency


deps = deps_of(handlers.Deps)


def _access(*roles: str) -> Callable[[Principal], PrincipalAccess]:
    """A dependency: the caller, when its role is one of ``roles``, as the handlers' Access."""

    def dependency(who: Principal = Depends(requires(*roles))) -> PrincipalAccess:
        return PrincipalAccess(who)

    return dependency


# what every route takes: the handlers' Deps and the caller, checked for the route's roles
D = Annotated[handlers.Deps, Depends(deps)]
Writer = Annotated[PrincipalAccess, Depends(_access("coach"))]
Reader = Annotated[PrincipalAccess, Depends(_access("coach", "pilot-lead", "service"))]
TaskReader = Annotated[
    PrincipalAccess, Depends(_access("coach", "pilot-lead", "service", "agency"))
]
TaskActor = Annotated[PrincipalAccess, Depends(_access("coach", "agency"))]
Remover = Annotated[PrincipalAccess, Depends(_access("coach", "pilot-lead"))]
# the family, through its link, sees who is in the network and who does what
ReaderOrFamily = Annotated[
    PrincipalAccess | FamilyAccess, Depends(_family_or_staff("coach", "pilot-lead", "service"))
]


@router.post("/cases/{case_id}/members", status_code=201, response_model=MemberOut)
async def add_member(case_id: str, body: MemberIn, who: Writer, d: D) -> MemberOut:
    """Add someone to the case's support network; publishes member-added (internal)."""
    member = await handlers.add_member(d, commands.AddMember(case_id, body.to_domain()), who)
    return MemberOut.of(member)


@router.get("/cases/{case_id}/members", response_model=list[MemberOut])
async def list_members(case_id: str, who: ReaderOrFamily, d: D) -> list[MemberOut]:
    """The case's network. Opens with the family's link too."""
    return [MemberOut.of(m) for m in await handlers.list_members(d, case_id, who)]


@router.delete("/cases/{case_id}/members/{member_id}", status_code=204)
async def remove_member(case_id: str, member_id: str, who: Remover, d: D) -> Response:
    """The member leaves the network: their details are erased, their data key destroyed,
    member-removed published; their tasks stay in the plan without free text."""
    await handlers.remove_member(d, commands.RemoveMember(case_id, member_id), who)
    return Response(status_code=204)


@router.patch("/cases/{case_id}/members/{member_id}", response_model=MemberOut)
async def edit_member(
    case_id: str, member_id: str, body: MemberPatchIn, who: Writer, d: D
) -> MemberOut:
    """Change a member's role, sector or details; publishes member-edited (internal)."""
    return MemberOut.of(await handlers.edit_member(d, case_id, member_id, body.changes(), who))


@router.post("/cases/{case_id}/relations", status_code=201, response_model=RelationOut)
async def add_relation(case_id: str, body: RelationIn, who: Writer, d: D) -> RelationOut:
    """A line between two members on the network map."""
    command = commands.AddRelation(case_id, body.from_id, body.to_id, body.kind)
    return RelationOut.of(await handlers.add_relation(d, command, who))


@router.delete("/cases/{case_id}/relations/{relation_id}", status_code=204)
async def remove_relation(case_id: str, relation_id: str, who: Writer, d: D) -> Response:
    await handlers.remove_relation(d, case_id, relation_id, who)
    return Response(status_code=204)


@router.get(
    "/cases/{case_id}/map.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def network_map(case_id: str, who: Reader, d: D) -> Response:
    """The network as an eco-map: the child in the middle, sectors around, lines by
    relation and by task."""
    plan = await handlers.show_care_plan(d, case_id, who)
    tasks = [task for entry in plan.members for task in entry.tasks]
    return Response(eco_map(plan.case, tasks), media_type="image/svg+xml")


@router.post("/cases/{case_id}/tasks", status_code=201, response_model=TaskOut)
async def assign_task(case_id: str, body: TaskIn, who: Writer, d: D) -> TaskOut:
    """Give a task to a member of the network; publishes task-assigned."""
    task = await handlers.assign_task(d, commands.AssignTask(case_id, body.to_domain()), who)
    return TaskOut.of(task)


@router.get("/cases/{case_id}/tasks", response_model=list[TaskOut])
async def list_tasks(case_id: str, who: ReaderOrFamily, d: D) -> list[TaskOut]:
    """Who does what for the child. Opens with the family's link too."""
    return [TaskOut.of(t) for t in await handlers.tasks_of_case(d, case_id, who)]


@router.get("/cases/{case_id}/plan", response_model=PlanOut)
async def care_plan(case_id: str, who: Reader, d: D) -> PlanOut:
    """Who is in the network and who does what."""
    return PlanOut.of(await handlers.show_care_plan(d, case_id, who))


@router.get("/tasks/{task_id}", response_model=TaskOut)
async def get_task(task_id: str, who: TaskReader, d: D) -> TaskOut:
    return TaskOut.of(await handlers.get_task(d, task_id, who))


@router.post("/tasks/{task_id}/accept", response_model=TaskOut)
async def accept_task(task_id: str, who: TaskActor, d: D) -> TaskOut:
    return TaskOut.of(await handlers.accept_task(d, commands.AcceptTask(task_id), who))


@router.post("/tasks/{task_id}/decline", response_model=TaskOut)
async def decline_task(task_id: str, body: DeclineIn, who: TaskActor, d: D) -> TaskOut:
    return TaskOut.of(
        await handlers.decline_task(d, commands.DeclineTask(task_id, body.reason), who)
    )


@router.post("/tasks/{task_id}/complete", response_model=TaskOut)
async def complete_task(task_id: str, who: TaskActor, d: D) -> TaskOut:
    return TaskOut.of(await handlers.complete_task(d, commands.CompleteTask(task_id), who))


@router.patch("/tasks/{task_id}", response_model=TaskOut)
async def edit_task(task_id: str, body: TaskPatchIn, who: Writer, d: D) -> TaskOut:
    """Change an open task's category, due date or note; publishes task-edited."""
    command = commands.EditTask(task_id, body.to_domain())
    return TaskOut.of(await handlers.edit_task(d, command, who))


@router.post("/tasks/{task_id}/reassign", response_model=TaskOut)
async def reassign_task(task_id: str, body: ReassignIn, who: Writer, d: D) -> TaskOut:
    """Give an open task to another member; publishes task-reassigned."""
    command = commands.ReassignTask(task_id, body.assignee_id)
    return TaskOut.of(await handlers.reassign_task(d, command, who))


@router.post("/tasks/{task_id}/cancel", response_model=TaskOut)
async def cancel_task(task_id: str, who: Writer, d: D) -> TaskOut:
    """Nobody is asked to do the task any more; publishes task-cancelled."""
    return TaskOut.of(await handlers.cancel_task(d, commands.CancelTask(task_id), who))


@router.post("/sweeps/overdue", response_model=SweepOut)
async def sweep_overdue(who: Writer, d: D, body: SweepIn | None = None) -> SweepOut:
    """Run the sweep now: overdue tasks and reminders before the due date; a coach sweeps
    their own pilot, an admin every pilot."""
    as_of = (body.as_of if body else None) or d.clock().date()
    pilot = None if who.principal.pilot == ALL_PILOTS else who.principal.pilot
    command = commands.SweepOverdue(as_of, pilot)
    reported = await handlers.sweep_overdue(d, command)
    reminded = await handlers.sweep_due_soon(d, command)
    return SweepOut(as_of=as_of, reported=reported, reminded=reminded)


# -- informal helpers' links: notifications asks for one, the helper answers with it --

internal = APIRouter(tags=["internal"], include_in_schema=False)
links = APIRouter(tags=["task links"])
LINK_REQUESTER = "notifications"
Service = Annotated[Principal, Depends(requires("service"))]


@internal.post("/internal/task-links", status_code=201, response_model=TaskLinkOut)
async def issue_task_link(body: TaskLinkIn, who: Service, d: D, request: Request) -> TaskLinkOut:
    """A signed link for a helper's task e-mail; only notifications asks for one."""
    if who.subject != LINK_REQUESTER:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this service asks for no links")
    link, token = await handlers.issue_task_link(d, body.case_id, body.task_id, body.member_id)
    base = request.app.state.settings.task_link_base_url.rstrip("/")
    return TaskLinkOut(url=f"{base}/task-links/{token}", expires_at=link.expires_at)


async def _link(token: str, request: Request, d: D) -> TaskLink:
    """The link the token stands for: issued here, signed by us for exactly that task and
    member, not expired (403 naming why otherwise)."""
    try:
        link_id = jwt.decode(token, options={"verify_signature": False}).get("jti")
    except jwt.PyJWTError:
        raise HTTPException(status.HTTP_403_FORBIDDEN, LINK_INVALID) from None
    if not isinstance(link_id, str):
        raise HTTPException(status.HTTP_403_FORBIDDEN, LINK_INVALID)
    link = await d.links.get(link_id)
    if link is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, LINK_INVALID)
    open_link(request.app, token, link.path)
    return link


Link = Annotated[TaskLink, Depends(_link)]


# what a link can be refused for, beside what every route with a path and a body says
_LINK_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The link is not valid, has expired, or opens another task."},
    409: {"description": "The link was used already, or the task is no longer the helper's."},
}


@links.get("/task-links/{token}", response_model=HelperTaskOut, responses=_LINK_REFUSALS)
async def helper_task(link: Link, d: D) -> HelperTaskOut:
    """The task as its helper may see it: category, due date, note, status."""
    task = await handlers.task_for_link(d, link)
    answers = [Answer.DECLINE, Answer.DONE]
    if task.status is TaskStatus.ASSIGNED:
        answers.insert(0, Answer.ACCEPT)
    return HelperTaskOut.of_task(task, answers, await handlers.link_language(d, link))


@links.post("/task-links/{token}/answer", response_model=HelperTaskOut, responses=_LINK_REFUSALS)
async def answer_task(link: Link, body: AnswerIn, d: D) -> HelperTaskOut:
    """The helper's answer, once: accept, decline (with a reason) or done."""
    task = await handlers.answer_task_link(d, link, commands.AnswerTask(body.answer, body.reason))
    return HelperTaskOut.of_task(task, [], await handlers.link_language(d, link))
