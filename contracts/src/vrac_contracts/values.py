"""Coded values shared by every event.

All are ``StrEnum``: on the wire they are the plain kebab-case strings. Within a major version
values may be added but never removed or renamed, so consumers should treat a value they do
not know as "other" rather than fail.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Pilot(StrEnum):
    """The VRAC pilot that runs the programme the case belongs to."""

    LEIDEN = "leiden"
    MECHELEN = "mechelen"
    EAST_SUSSEX = "east-sussex"
    NORWICH = "norwich"
    LILLE = "lille"
    WATTRELOS = "wattrelos"

    @property
    def default_language(self) -> Language:
        return PILOT_LANGUAGE[self]

    @property
    def country(self) -> str:
        """ISO 3166-1 alpha-2 country code of the pilot."""
        return PILOT_COUNTRY[self]

    @property
    def time_zone(self) -> str:
        """The IANA time zone the pilot's families and staff live in."""
        return PILOT_TIME_ZONE[self]


class Language(StrEnum):
    """A language the platform writes in (ISO 639-1)."""

    NL = "nl"
    FR = "fr"
    EN = "en"


# each pilot's language, ISO 3166-1 alpha-2 country and IANA time zone, one row a pilot
_PILOTS: Final[dict[Pilot, tuple[Language, str, str]]] = {
    Pilot.LEIDEN: (Language.NL, "NL", "Europe/Amsterdam"),
    Pilot.MECHELEN: (Language.NL, "BE", "Europe/Brussels"),
    Pilot.EAST_SUSSEX: (Language.EN, "GB", "Europe/London"),
    Pilot.NORWICH: (Language.EN, "GB", "Europe/London"),
    Pilot.LILLE: (Language.FR, "FR", "Europe/Paris"),
    Pilot.WATTRELOS: (Language.FR, "FR", "Europe/Paris"),
}
PILOT_LANGUAGE: Final[dict[Pilot, Language]] = {p: row[0] for p, row in _PILOTS.items()}
PILOT_COUNTRY: Final[dict[Pilot, str]] = {p: row[1] for p, row in _PILOTS.items()}
PILOT_TIME_ZONE: Final[dict[Pilot, str]] = {p: row[2] for p, row in _PILOTS.items()}


class MemberKind(StrEnum):
    """What kind of member of the support network someone is."""

    FAMILY = "family"
    INFORMAL = "informal"
    PROFESSIONAL = "professional"
    AGENCY = "agency"


class NetworkRole(StrEnum):
    """The part a member plays in the child's support network."""

    SPIDER_IN_THE_WEB = "spider-in-the-web"
    BRIDGE_BUILDER = "bridge-builder"
    BASE_WORKER = "base-worker"
    COACH = "coach"
    MENTOR = "mentor"
    SUPPORTER = "supporter"
    BUDDY = "buddy"
    TEACHER = "teacher"
    YOUTH_WORKER = "youth-worker"
    SOCIAL_WORKER = "social-worker"
    CARE_PROVIDER = "care-provider"
    VOLUNTEER = "volunteer"


class Domain(StrEnum):
    """A domain of talent or skill that a screening looks at."""

    WORKING_MEMORY = "working-memory"
    ATTENTION = "attention"
    PROCESSING_SPEED = "processing-speed"
    PLANNING = "planning"
    READING = "reading"
    SPELLING = "spelling"
    MATHS = "maths"
    LANGUAGE = "language"
    MORAL_REASONING = "moral-reasoning"
    SOCIAL_SKILLS = "social-skills"
    EMPATHY = "empathy"
    EMOTION_REGULATION = "emotion-regulation"
    CREATIVITY = "creativity"
    MOTOR_SKILLS = "motor-skills"
    PERSEVERANCE = "perseverance"
    CURIOSITY = "curiosity"


class ScoreKind(StrEnum):
    """How a screening score is expressed."""

    PERCENTILE = "percentile"
    STANDARD_SCORE = "standard-score"
    QUALITATIVE = "qualitative"


class TaskCategory(StrEnum):
    """What kind of help a task in the care plan asks for."""

    HOMEWORK_SUPPORT = "homework-support"
    PRACTISE_STRENGTH = "practise-strength"
    SCHOOL_CONTACT = "school-contact"
    TRANSPORT = "transport"
    LEISURE_ACTIVITY = "leisure-activity"
    RESPITE_CARE = "respite-care"
    CHECK_IN = "check-in"
    MEETING = "meeting"
    PROFESSIONAL_SUPPORT = "professional-support"
    REFERRAL = "referral"
    OTHER = "other"


class ConsentPurpose(StrEnum):
    """What the parents consent to; each purpose is granted or withdrawn on its own."""

    SCREENING = "screening"
    DIPLOMA = "diploma"
    SHARE_WITH_SCHOOL = "share-with-school"
    SHARE_WITH_AGENCY = "share-with-agency"
    QUESTIONNAIRES = "questionnaires"
    REPORTING = "reporting"


class Channel(StrEnum):
    """How a notification reaches its recipient."""

    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class AdviceAudience(StrEnum):
    """Who a piece of advice is for."""

    SCHOOL = "school"
    PARENTS = "parents"
    CHILD = "child"


class CloseReason(StrEnum):
    """Why a case was closed."""

    COMPLETED = "completed"
    WITHDRAWN_BY_FAMILY = "withdrawn-by-family"
    MOVED_AWAY = "moved-away"
    REFERRED_ELSEWHERE = "referred-elsewhere"
    NO_CONTACT = "no-contact"
    ERASURE_REQUESTED = "erasure-requested"
    OTHER = "other"


class ActorRole(StrEnum):
    """The role of whoever made a change (never who they are)."""

    GUARDIAN = "guardian"
    CHILD = "child"
    COACH = "coach"
    COORDINATOR = "coordinator"
    SYSTEM = "system"


class Instrument(StrEnum):
    """A wellbeing questionnaire instrument."""

    KIDSCREEN_10 = "kidscreen-10"
    SDQ = "sdq"
    VRAC_WELLBEING_CHILD = "vrac-wellbeing-child"
    VRAC_WELLBEING_PARENT = "vrac-wellbeing-parent"
    WHO_5 = "who-5"


class WellbeingBand(StrEnum):
    """The band a questionnaire's total falls into."""

    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"


class Occasion(StrEnum):
    """When in the support a questionnaire was filled in."""

    BASELINE = "baseline"
    FOLLOW_UP = "follow-up"
    END = "end"


class WellbeingChange(StrEnum):
    """Change from the baseline by the instrument's own reliable-change rule."""

    IMPROVED = "improved"
    NO_RELIABLE_CHANGE = "no-reliable-change"
    WORSENED = "worsened"


class Respondent(StrEnum):
    """Who filled in a questionnaire."""

    CHILD = "child"
    GUARDIAN = "guardian"
    TEACHER = "teacher"


class DeclineReason(StrEnum):
    """Why a member declined a task."""

    NO_TIME = "no-time"
    NOT_SUITABLE = "not-suitable"
    NOT_REACHABLE = "not-reachable"
    OTHER = "other"


class DeliveryError(StrEnum):
    """Why a notification could not be delivered."""

    INVALID_ADDRESS = "invalid-address"
    BOUNCED = "bounced"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    HTTP_ERROR = "http-error"
    NO_CONSENT = "no-consent"
    NO_CONTACT_DETAILS = "no-contact-details"
    OTHER = "other"
