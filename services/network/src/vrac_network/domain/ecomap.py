"""The network as an eco-map: the child in the middle, the four sectors around it, every
present member in their sector, lines for relations between members and for tasks.

Pure: SVG text from the case and its tasks (``xml.etree`` writes it, so names are escaped).
It shows what the coach sees in the care plan anyway: names (or the role, once erased), roles
and task categories; no contact details and no task notes.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from vrac_contracts.values import Language

from .case import Case, Member, RelationKind
from .roles import INFORMAL_SECTORS, Sector
from .task import Task

SIZE: Final = 800
_CENTRE: Final = SIZE / 2
_RING: Final = 290  # radius of the sectors' outer edge
_PLACE: Final = 220  # radius members are placed on
SVG_NS: Final = "http://www.w3.org/2000/svg"

# each sector's quarter of the circle, clockwise from the top
_ORDER: Final = (Sector.FAMILY, Sector.FRIENDS_AND_NEIGHBOURS, Sector.SCHOOL, Sector.PROFESSIONALS)
_COLOURS: Final = {
    Sector.FAMILY: "#fde2c8",
    Sector.FRIENDS_AND_NEIGHBOURS: "#d8f0d2",
    Sector.SCHOOL: "#d6e6fb",
    Sector.PROFESSIONALS: "#ece0f7",
}
_LABELS: Final[dict[Language, dict[str, str]]] = {
    Language.NL: {
        "child": "Kind",
        Sector.FAMILY: "Gezin en familie",
        Sector.FRIENDS_AND_NEIGHBOURS: "Vrienden en buren",
        Sector.SCHOOL: "School",
        Sector.PROFESSIONALS: "Professionals",
        "title": "Netwerkkaart",
    },
    Language.FR: {
        "child": "Enfant",
        Sector.FAMILY: "Famille",
        Sector.FRIENDS_AND_NEIGHBOURS: "Amis et voisins",
        Sector.SCHOOL: "École",
        Sector.PROFESSIONALS: "Professionnels",
        "title": "Carte du réseau",
    },
    Language.EN: {
        "child": "Child",
        Sector.FAMILY: "Family",
        Sector.FRIENDS_AND_NEIGHBOURS: "Friends and neighbours",
        Sector.SCHOOL: "School",
        Sector.PROFESSIONALS: "Professionals",
        "title": "Network map",
    },
}
_DASHES: Final = {
    RelationKind.FAMILY_TIE: None,
    RelationKind.FRIENDSHIP: "2 4",
    RelationKind.WORKS_WITH: "8 4",
    RelationKind.STRAINED: "1 3",
}


@dataclass(frozen=True)
class Metrics:
    """What the coach reads off the map: how big, how informal, how many sectors."""

    size: int
    informal: int
    sectors_covered: tuple[Sector, ...]

    @property
    def informal_share(self) -> float | None:
        """Share of members from family, friends and neighbours; None for an empty network."""
        return round(self.informal / self.size, 3) if self.size else None


def metrics(case: Case) -> Metrics:
    present = case.active_members()
    covered = {m.sector for m in present}
    return Metrics(
        size=len(present),
        informal=sum(1 for m in present if m.sector in INFORMAL_SECTORS),
        sectors_covered=tuple(s for s in _ORDER if s in covered),
    )


def _point(angle: float, radius: float) -> tuple[float, float]:
    # 0 is the top, angles grow clockwise, as on a clock
    return (
        round(_CENTRE + radius * math.sin(angle), 1),
        round(_CENTRE - radius * math.cos(angle), 1),
    )


def _places(members: list[Member]) -> dict[str, tuple[float, float]]:
    """Each member's point: spread evenly over their sector's quarter."""
    places: dict[str, tuple[float, float]] = {}
    for index, sector in enumerate(_ORDER):
        inside = [m for m in members if m.sector is sector]
        for n, member in enumerate(inside):
            angle = (index + (n + 1) / (len(inside) + 1)) * math.pi / 2
            places[member.member_id] = _point(angle, _PLACE)
    return places


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    names = {k.rstrip("_").replace("_", "-"): str(v) for k, v in attrs.items()}
    element = ET.SubElement(parent, tag, names)
    element.text = text
    return element


def _sectors(svg: ET.Element, labels: dict[str, str]) -> None:
    for index, sector in enumerate(_ORDER):
        start, end = index * math.pi / 2, (index + 1) * math.pi / 2
        (x1, y1), (x2, y2) = _point(start, _RING), _point(end, _RING)
        path = f"M {_CENTRE} {_CENTRE} L {x1} {y1} A {_RING} {_RING} 0 0 1 {x2} {y2} Z"
        group = _sub(svg, "g", id=f"sector-{sector}")
        _sub(group, "path", d=path, fill=_COLOURS[sector], stroke="#999999")
        lx, ly = _point((start + end) / 2, _RING + 45)
        _sub(group, "text", labels[sector], x=lx, y=ly, text_anchor="middle", font_size=16)


def _name(member: Member) -> str:
    return member.display_name or str(member.role)


def eco_map(case: Case, tasks: Iterable[Task], language: Language | None = None) -> str:
    """The SVG document of the case's network, labelled in ``language`` (the pilot's)."""
    labels = _LABELS[language or case.pilot.default_language]
    members = case.active_members()
    places = _places(members)
    svg = ET.Element(
        "svg",
        {"xmlns": SVG_NS, "width": str(SIZE), "height": str(SIZE), "viewBox": f"0 0 {SIZE} {SIZE}"},
    )
    _sub(svg, "title", labels["title"])
    _sectors(svg, labels)
    lines = _sub(svg, "g", id="lines")
    for relation in case.relations:
        if relation.from_id in places and relation.to_id in places:
            (x1, y1), (x2, y2) = places[relation.from_id], places[relation.to_id]
            dash = _DASHES[relation.kind]
            extra = {"stroke_dasharray": dash} if dash else {}
            _sub(lines, "line", x1=x1, y1=y1, x2=x2, y2=y2, stroke="#555555",
                 stroke_width=2, class_=f"relation {relation.kind}", **extra)  # fmt: skip
    for task in tasks:
        if task.is_open and task.assignee_id in places:
            x, y = places[task.assignee_id]
            _sub(lines, "line", x1=_CENTRE, y1=_CENTRE, x2=x, y2=y, stroke="#d9822b",
                 stroke_width=3, class_=f"task {task.category}")  # fmt: skip
    _sub(svg, "circle", cx=_CENTRE, cy=_CENTRE, r=42, fill="#ffffff", stroke="#333333")
    _sub(svg, "text", labels["child"], x=_CENTRE, y=_CENTRE + 5, text_anchor="middle",
         font_size=16, font_weight="bold")  # fmt: skip
    for member in members:
        x, y = places[member.member_id]
        group = _sub(svg, "g", id=f"member-{member.member_id}", class_=f"member {member.role}")
        _sub(group, "circle", cx=x, cy=y, r=14, fill="#ffffff", stroke="#333333")
        _sub(group, "text", _name(member), x=x, y=y + 30, text_anchor="middle", font_size=13)
    return ET.tostring(svg, encoding="unicode", xml_declaration=True)
