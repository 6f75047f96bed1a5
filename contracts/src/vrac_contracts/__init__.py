"""VRAC event contracts: the catalogue, the v1 event models and the CloudEvents codec."""

from .advice import ADVICE, Advice, AdviceCode, advice, advice_text
from .catalogue import (
    CATALOGUE,
    SERVICES,
    Audience,
    EventSpec,
    by_topic,
    by_type,
    consumer_group,
    spec_for,
)
from .envelope import Envelope, KafkaRecord, decode, encode, new_envelope
from .errors import ContractError
from .events import *  # noqa: F403
from .events import __all__ as _event_names
from .fields import personal
from .ids import derived_id, new_id
from .values import (
    ActorRole,
    AdviceAudience,
    Channel,
    CloseReason,
    ConsentPurpose,
    DeclineReason,
    DeliveryError,
    Domain,
    Instrument,
    Language,
    MemberKind,
    NetworkRole,
    Pilot,
    Respondent,
    ScoreKind,
    TaskCategory,
    WellbeingBand,
)

__all__ = [
    "ADVICE",
    "CATALOGUE",
    "SERVICES",
    "ActorRole",
    "Advice",
    "AdviceAudience",
    "AdviceCode",
    "Audience",
    "Channel",
    "CloseReason",
    "ConsentPurpose",
    "ContractError",
    "DeclineReason",
    "DeliveryError",
    "Domain",
    "Envelope",
    "EventSpec",
    "Instrument",
    "KafkaRecord",
    "Language",
    "MemberKind",
    "NetworkRole",
    "Pilot",
    "Respondent",
    "ScoreKind",
    "TaskCategory",
    "WellbeingBand",
    "advice",
    "advice_text",
    "by_topic",
    "by_type",
    "consumer_group",
    "decode",
    "derived_id",
    "encode",
    "new_envelope",
    "new_id",
    "personal",
    "spec_for",
    *_event_names,
]
