"""The v1 event data models, one module per producing service."""

from .audit import (
    ACCESS_RECORDED,
    AccessRecorded,
    IntakeAccessRecorded,
    NetworkAccessRecorded,
    NotificationsAccessRecorded,
    ScreeningAccessRecorded,
)
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
    "ACCESS_RECORDED",
    "AccessRecorded",
    "AdviceItem",
    "CaseClosed",
    "CaseOpened",
    "ConsentChanged",
    "DiplomaIssued",
    "EventData",
    "FamilyRegistered",
    "Guardian",
    "IntakeAccessRecorded",
    "MemberAdded",
    "NetworkAccessRecorded",
    "NotificationDelivered",
    "NotificationFailed",
    "NotificationsAccessRecorded",
    "QuestionnaireSubmitted",
    "ScreeningAccessRecorded",
    "ScreeningCompleted",
    "TaskAccepted",
    "TaskAssigned",
    "TaskCompleted",
    "TaskDeclined",
    "TaskOverdue",
]
