"""The v1 event data models, one module per producing service."""

from .base import EventData
from .intake import CaseClosed, CaseOpened, ConsentChanged, FamilyRegistered, Guardian
from .network import (
    MemberAdded,
    TaskAccepted,
    TaskAssigned,
    TaskCompleted,
    TaskDeclined,
    TaskOverdue,
)
from .notifications import NotificationDelivered, NotificationFailed
from .screening import AdviceItem, DiplomaIssued, QuestionnaireSubmitted, ScreeningCompleted

__all__ = [
    "AdviceItem",
    "CaseClosed",
    "CaseOpened",
    "ConsentChanged",
    "DiplomaIssued",
    "EventData",
    "FamilyRegistered",
    "Guardian",
    "MemberAdded",
    "NotificationDelivered",
    "NotificationFailed",
    "QuestionnaireSubmitted",
    "ScreeningCompleted",
    "TaskAccepted",
    "TaskAssigned",
    "TaskCompleted",
    "TaskDeclined",
    "TaskOverdue",
]
