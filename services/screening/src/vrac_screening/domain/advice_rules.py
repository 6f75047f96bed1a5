"""The advice rule library: a condition on strengths and growth areas -> an advice code.

The codes and their texts (nl, fr, en) live in the contracts' advice library, so the events
carry codes only and every reader shows the same words. Rules are checked in order; each
code is given once, by the first rule that fires. ``README.md`` lists the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Protocol

from vrac_contracts.advice import AdviceCode, advice
from vrac_contracts.values import AdviceAudience, Domain


@dataclass(frozen=True)
class Profile:
    """What a screening found: the input of every rule."""

    strengths: frozenset[Domain]
    growth_areas: frozenset[Domain]

    @classmethod
    def of(cls, strengths: Iterable[Domain], growth_areas: Iterable[Domain]) -> Profile:
        return cls(frozenset(strengths), frozenset(growth_areas))


class Condition(Protocol):
    def holds(self, profile: Profile) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Strength:
    domain: Domain

    def holds(self, profile: Profile) -> bool:
        return self.domain in profile.strengths

    def describe(self) -> str:
        return f"strength {self.domain}"


@dataclass(frozen=True)
class Growth:
    domain: Domain

    def holds(self, profile: Profile) -> bool:
        return self.domain in profile.growth_areas

    def describe(self) -> str:
        return f"growth area {self.domain}"


@dataclass(frozen=True)
class GrowthAreasAtLeast:
    count: int

    def holds(self, profile: Profile) -> bool:
        return len(profile.growth_areas) >= self.count

    def describe(self) -> str:
        return f"at least {self.count} growth areas"


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    def holds(self, profile: Profile) -> bool:
        return all(part.holds(profile) for part in self.parts)

    def describe(self) -> str:
        return " and ".join(_grouped(p) for p in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def holds(self, profile: Profile) -> bool:
        return any(part.holds(profile) for part in self.parts)

    def describe(self) -> str:
        return " or ".join(_grouped(p) for p in self.parts)


def _grouped(condition: Condition) -> str:
    text = condition.describe()
    return f"({text})" if isinstance(condition, AllOf | AnyOf) else text


def all_of(*parts: Condition) -> AllOf:
    return AllOf(parts)


def any_of(*parts: Condition) -> AnyOf:
    return AnyOf(parts)


@dataclass(frozen=True)
class Rule:
    rule_id: str
    when: Condition
    code: AdviceCode

    @property
    def audience(self) -> AdviceAudience:
        return advice(self.code).audience


@dataclass(frozen=True)
class AdviceChoice:
    """One piece of advice a screening gives, and the rule that chose it."""

    code: AdviceCode
    audience: AdviceAudience
    rule_id: str


D, A = Domain, AdviceCode
S, G = Strength, Growth

RULES: Final[tuple[Rule, ...]] = (
    Rule("R01", all_of(S(D.WORKING_MEMORY), G(D.READING)), A.MEMORY_FOR_READING),
    Rule(
        "R02",
        all_of(S(D.WORKING_MEMORY), any_of(G(D.READING), G(D.SPELLING))),
        A.SHOW_YOUR_STRENGTH,
    ),
    Rule("R03", G(D.ATTENTION), A.QUIET_PLACE_IN_CLASS),
    Rule("R04", any_of(G(D.ATTENTION), G(D.WORKING_MEMORY)), A.SHORT_CLEAR_INSTRUCTIONS),
    Rule("R05", any_of(G(D.ATTENTION), G(D.PLANNING)), A.ONE_THING_AT_A_TIME),
    Rule("R06", any_of(G(D.ATTENTION), G(D.EMOTION_REGULATION)), A.MOVEMENT_BREAKS),
    Rule("R07", any_of(G(D.PLANNING), G(D.WORKING_MEMORY)), A.VISUAL_STEP_PLAN),
    Rule("R08", any_of(G(D.READING), G(D.LANGUAGE)), A.READ_ALOUD_TOGETHER),
    Rule("R09", G(D.SPELLING), A.SPELLING_GAMES),
    Rule("R10", G(D.MATHS), A.MATHS_IN_DAILY_LIFE),
    Rule("R11", G(D.PROCESSING_SPEED), A.EXTRA_TIME_FOR_TASKS),
    Rule("R12", G(D.EMOTION_REGULATION), A.NAME_THE_FEELING),
    Rule("R13", G(D.EMOTION_REGULATION), A.CALM_DOWN_CORNER),
    Rule("R14", G(D.EMOTION_REGULATION), A.ASK_FOR_A_BREAK),
    Rule("R15", any_of(G(D.LANGUAGE), G(D.SOCIAL_SKILLS)), A.TALK_ABOUT_THE_DAY),
    Rule("R16", any_of(G(D.PERSEVERANCE), GrowthAreasAtLeast(3)), A.PRAISE_THE_EFFORT),
    Rule("R17", S(D.MORAL_REASONING), A.SENSE_OF_FAIRNESS_ROLE),
    Rule("R18", any_of(S(D.SOCIAL_SKILLS), S(D.EMPATHY)), A.HELPER_ROLE_IN_GROUP),
    Rule("R19", S(D.CREATIVITY), A.CREATIVE_OUTLET),
    Rule("R20", S(D.MOTOR_SKILLS), A.SPORT_AND_MOVEMENT_CLUB),
    Rule("R21", S(D.CURIOSITY), A.CURIOUS_QUESTIONS_WELCOME),
    Rule("R22", S(D.PERSEVERANCE), A.FINISH_WHAT_YOU_START),
)


def choose_advice(profile: Profile, rules: Iterable[Rule] = RULES) -> list[AdviceChoice]:
    """The advice every firing rule gives, in rule order, each code once."""
    chosen: dict[AdviceCode, AdviceChoice] = {}
    for rule in rules:
        if rule.code not in chosen and rule.when.holds(profile):
            chosen[rule.code] = AdviceChoice(rule.code, rule.audience, rule.rule_id)
    return list(chosen.values())
