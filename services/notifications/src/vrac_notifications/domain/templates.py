"""The words of every message, in Dutch, French and English: warm and short.

Agencies are told about the child by case id only: they receive what they need to act on
the task, never the child's name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from vrac_contracts.advice import advice_text
from vrac_contracts.values import DeclineReason, Language, TaskCategory
from vrac_contracts.wording import long_date

from vrac_notifications.domain.contacts import Contact, RecipientKind
from vrac_notifications.domain.intents import (
    DeclinedTaskMessage,
    DiplomaMessage,
    FamilyAdviceMessage,
    Intent,
    MessageKind,
    OverdueTaskNotice,
    SchoolAdviceMessage,
    TaskMessage,
)

NL, FR, EN = Language.NL, Language.FR, Language.EN


@dataclass(frozen=True)
class Answer:
    """A task's answer link for a helper without an account, and the day it stops working."""

    url: str
    expires_on: dt.date


@dataclass(frozen=True)
class FamilyPage:
    """The family's link into the web app, for a guardian, and the day it stops working."""

    url: str
    expires_on: dt.date


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    language: Language


CATEGORY: Final[dict[TaskCategory, dict[Language, str]]] = {
    TaskCategory.HOMEWORK_SUPPORT: {
        NL: "helpen met huiswerk",
        FR: "aider aux devoirs",
        EN: "helping with homework",
    },
    TaskCategory.PRACTISE_STRENGTH: {
        NL: "samen oefenen met een sterke kant",
        FR: "s'exercer ensemble sur un point fort",
        EN: "practising a strength together",
    },
    TaskCategory.SCHOOL_CONTACT: {
        NL: "contact houden met school",
        FR: "garder le lien avec l'école",
        EN: "keeping in touch with school",
    },
    TaskCategory.TRANSPORT: {
        NL: "halen en brengen",
        FR: "accompagner les trajets",
        EN: "taking and fetching",
    },
    TaskCategory.LEISURE_ACTIVITY: {
        NL: "een leuke vrijetijdsactiviteit",
        FR: "une activité de loisir",
        EN: "a leisure activity",
    },
    TaskCategory.RESPITE_CARE: {
        NL: "de zorg even overnemen",
        FR: "offrir un moment de répit à la famille",
        EN: "giving the family a break",
    },
    TaskCategory.CHECK_IN: {
        NL: "even bellen of langsgaan",
        FR: "prendre des nouvelles",
        EN: "checking in",
    },
    TaskCategory.MEETING: {NL: "een overleg", FR: "une réunion", EN: "a meeting"},
    TaskCategory.PROFESSIONAL_SUPPORT: {
        NL: "professionele ondersteuning",
        FR: "un accompagnement professionnel",
        EN: "professional support",
    },
    TaskCategory.REFERRAL: {NL: "een doorverwijzing", FR: "une orientation", EN: "a referral"},
    TaskCategory.OTHER: {NL: "een taak", FR: "une tâche", EN: "a task"},
}
SOME_TASK: Final = {NL: "je taak", FR: "votre tâche", EN: "your task"}


GREETING: Final = {NL: "Beste {name},", FR: "Bonjour {name},", EN: "Dear {name},"}
SIGN_OFF: Final = {
    NL: "Hartelijke groet,\nHet VRAC-team",
    FR: "Bien chaleureusement,\nL'équipe VRAC",
    EN: "Warm regards,\nThe VRAC team",
}

TASK_ASSIGNED: Final = {
    NL: (
        "Nieuwe taak: {category}",
        "Fijn dat je {child} helpt! Je hebt een nieuwe taak: {category}.{due}\n\n"
        "Lukt het niet, laat het de coach dan gerust weten.",
    ),
    FR: (
        "Nouvelle tâche : {category}",
        "Merci d'aider {child} ! Vous avez une nouvelle tâche : {category}.{due}\n\n"
        "Si quelque chose vous en empêche, dites-le simplement au coach.",
    ),
    EN: (
        "New task: {category}",
        "Thank you for helping {child}! You have a new task: {category}.{due}\n\n"
        "If anything gets in the way, just let the coach know.",
    ),
}
DUE: Final = {
    NL: " Graag uiterlijk op {date}.",
    FR: " Merci de la faire d'ici le {date}.",
    EN: " Please do it by {date}.",
}

TASK_OVERDUE: Final = {
    NL: (
        "Een vriendelijke herinnering: {category}",
        "Een kleine herinnering: {category} voor {child} stond gepland tot {date}. "
        "Is het gelukt? Heb je hulp of wat meer tijd nodig, laat het de coach gerust weten.",
    ),
    FR: (
        "Un petit rappel : {category}",
        "Un petit rappel amical : « {category} » pour {child} était prévu pour le {date}. "
        "Est-ce que ça a marché ? Si vous avez besoin d'aide ou d'un peu plus de temps, "
        "dites-le au coach, sans souci.",
    ),
    EN: (
        "A friendly reminder: {category}",
        "Just a friendly reminder: {category} for {child} was planned for {date}. "
        "Did it work out? If you need a hand or a little more time, just let the coach know.",
    ),
}

TASK_DUE_SOON: Final = {
    NL: (
        "Binnenkort: {category}",
        "Een vriendelijke herinnering: {category} voor {child} staat gepland tot {date}. "
        "Lukt dat? Heb je hulp of wat meer tijd nodig, laat het de coach gerust weten.",
    ),
    FR: (
        "Bientôt : {category}",
        "Un petit rappel : « {category} » pour {child} est prévu d'ici le {date}. "
        "Est-ce que ça vous convient ? Si vous avez besoin d'aide ou d'un peu plus de temps, "
        "dites-le au coach, sans souci.",
    ),
    EN: (
        "Coming up: {category}",
        "A friendly reminder: {category} for {child} is planned for {date}. "
        "Does that still work? If you need a hand or a little more time, just let the coach "
        "know.",
    ),
}

ANSWER: Final = {
    NL: "Via deze link kun je de taak aannemen, afwijzen of laten weten dat hij klaar is, "
    "zonder account (de link werkt tot {expires}):\n{link}",
    FR: "Ce lien vous permet d'accepter la tâche, de la refuser ou de dire qu'elle est faite, "
    "sans compte (il est valable jusqu'au {expires}) :\n{link}",
    EN: "With this link you can accept the task, decline it or say it is done, no account "
    "needed (it works until {expires}):\n{link}",
}

FAMILY_PAGE: Final = {
    NL: "Via deze persoonlijke link zie je alles op een rij, zonder account: het diploma, "
    "het advies, wie wat doet voor {child}, en de toestemmingen die jullie gaven, die je "
    "daar ook zelf kunt aanpassen (de link werkt tot {expires}; deel hem niet):\n{link}",
    FR: "Ce lien personnel vous montre tout, sans compte : le diplôme, les conseils, qui "
    "fait quoi pour {child}, et les accords que vous avez donnés, que vous pouvez aussi y "
    "modifier vous-même (il est valable jusqu'au {expires} ; ne le partagez pas) :\n{link}",
    EN: "This personal link shows you everything, no account needed: the diploma, the "
    "advice, who does what for {child}, and the consents you gave, which you can change "
    "there yourself (it works until {expires}; please do not share it):\n{link}",
}

TASK_DECLINED: Final = {
    NL: (
        "Taak afgewezen: {category}",
        "{who} kan {category} voor {child} niet op zich nemen.{reason}\n\n"
        "Wil je samen met de familie kijken wie het kan overnemen?",
    ),
    FR: (
        "Tâche refusée : {category}",
        "{who} ne peut pas se charger de « {category} » pour {child}.{reason}\n\n"
        "Pourriez-vous voir avec la famille qui peut prendre le relais ?",
    ),
    EN: (
        "Task declined: {category}",
        "{who} cannot take on {category} for {child}.{reason}\n\n"
        "Could you look with the family for someone else to take it on?",
    ),
}
TASK_OVERDUE_NOTICE: Final = {
    NL: (
        "Taak over tijd: {category}",
        "{who} zou {category} voor {child} doen tot {date}, en dat is nog niet gebeurd.\n\n"
        "Wil je even nagaan of er hulp of wat meer tijd nodig is, of dat iemand anders het "
        "kan overnemen?",
    ),
    FR: (
        "Tâche en retard : {category}",
        "{who} devait se charger de « {category} » pour {child} d'ici le {date}, et ce "
        "n'est pas encore fait.\n\n"
        "Pourriez-vous voir s'il faut un coup de main, un peu plus de temps, ou quelqu'un "
        "d'autre pour prendre le relais ?",
    ),
    EN: (
        "Task overdue: {category}",
        "{who} was to take on {category} for {child} by {date}, and it is not done yet.\n\n"
        "Could you check whether a hand or a little more time is needed, or whether someone "
        "else could take it over?",
    ),
}
SOMEONE: Final = {
    NL: "Iemand uit het netwerk",
    FR: "Une personne du réseau",
    EN: "Someone in the network",
}
DECLINE_REASON: Final[dict[DeclineReason, dict[Language, str]]] = {
    DeclineReason.NO_TIME: {NL: "geen tijd", FR: "pas le temps", EN: "no time"},
    DeclineReason.NOT_SUITABLE: {
        NL: "de taak past niet",
        FR: "la tâche ne convient pas",
        EN: "the task is not a good fit",
    },
    DeclineReason.NOT_REACHABLE: {
        NL: "niet bereikbaar",
        FR: "pas joignable",
        EN: "cannot be reached",
    },
    DeclineReason.OTHER: {NL: "een andere reden", FR: "une autre raison", EN: "another reason"},
}
REASON: Final = {NL: " Reden: {reason}.", FR: " Raison : {reason}.", EN: " Reason: {reason}."}

DIPLOMA_READY: Final = {
    NL: (
        "Het diploma van {child} is klaar!",
        "Goed nieuws: het diploma van {child} is klaar. Er staat op waar {child} goed in is "
        "en waarom dat zo mooi is. Je kunt het hier downloaden:\n{link}\n\n"
        "Hang het misschien op een plek waar {child} het vaak ziet.",
    ),
    FR: (
        "Le diplôme de {child} est prêt !",
        "Bonne nouvelle : le diplôme de {child} est prêt. Il montre les talents de {child} "
        "et pourquoi ils sont formidables. Vous pouvez le télécharger ici :\n{link}\n\n"
        "Pourquoi ne pas l'accrocher là où {child} le verra souvent ?",
    ),
    EN: (
        "{child_title} diploma is ready!",
        "Good news: {child_possessive} diploma is ready. It shows what {child} is good at "
        "and why that is great. You can download it here:\n{link}\n\n"
        "Perhaps put it up somewhere {child} will see it often.",
    ),
}

SCHOOL_ADVICE: Final = {
    NL: (
        "Advies voor school: wat {child} helpt",
        "Op basis van de recente screening van talenten en vaardigheden heeft het team "
        "rond {child} advies voor school op een rij gezet:\n\n{advice}\n\n"
        "Dank voor de fijne samenwerking.",
    ),
    FR: (
        "Conseils pour l'école : ce qui aide {child}",
        "À partir du bilan récent des talents et compétences, l'équipe autour de {child} "
        "a rassemblé quelques conseils pour l'école :\n\n{advice}\n\n"
        "Merci pour votre collaboration.",
    ),
    EN: (
        "Advice for school: what helps {child}",
        "Based on the recent screening of talents and skills, the team around {child} "
        "has put together some advice for school:\n\n{advice}\n\nThank you for working with us.",
    ),
}

FAMILY_ADVICE: Final = {
    NL: (
        "Wat {child} helpt: advies voor thuis",
        "Na de screening van talenten en "
        "vaardigheden heeft het team rond {child} een paar tips op een rij gezet.",
    ),
    FR: (
        "Ce qui aide {child} : des conseils pour la maison",
        "Après le bilan des talents et "
        "compétences, l'équipe autour de {child} a rassemblé quelques conseils.",
    ),
    EN: (
        "What helps {child}: advice for at home",
        "After the screening of talents and "
        "skills, the team around {child} has put together a few tips.",
    ),
}
FOR_PARENTS: Final = {
    NL: "Voor jullie als ouders:",
    FR: "Pour vous, les parents :",
    EN: "For you as parents:",
}
FOR_CHILD: Final = {
    NL: "En voor {child} zelf, om samen te lezen:",
    FR: "Et pour {child}, à lire ensemble :",
    EN: "And for {child}, to read together:",
}

CHILD_FOR_AGENCY: Final = {
    NL: "het kind van dossier {case_id}",
    FR: "l'enfant du dossier {case_id}",
    EN: "the child of case {case_id}",
}
CHILD_UNNAMED: Final = {
    RecipientKind.GUARDIAN: {NL: "je kind", FR: "votre enfant", EN: "your child"},
    RecipientKind.MEMBER: {NL: "het kind", FR: "l'enfant", EN: "the child"},
}


def child_reference(contact: Contact, case_id: str, first_name: str | None) -> str:
    """How the message names the child: only those who may know the name read it (see
    ``Contact.knows_the_child_by_name``); the others read the case id."""
    if not contact.knows_the_child_by_name:
        return CHILD_FOR_AGENCY[contact.language].format(case_id=case_id)
    if first_name:
        return first_name
    return CHILD_UNNAMED[contact.recipient_kind][contact.language]


def _possessive(child: str) -> str:
    return f"{child}'" if child.endswith("s") else f"{child}'s"


def _category(
    intent: TaskMessage | DeclinedTaskMessage | OverdueTaskNotice, language: Language
) -> str:
    if intent.category is None:
        return SOME_TASK[language]
    return CATEGORY[intent.category][language]


def render(
    intent: Intent,
    contact: Contact,
    *,
    case_id: str,
    child_first_name: str | None,
    diploma_url: str = "",
    answer: Answer | None = None,
    member_name: str | None = None,
    family: FamilyPage | None = None,
) -> Message:
    """The message ``intent`` becomes for ``contact``, in the contact's language.
    ``answer``: the task's answer link, for a helper without an account; ``member_name``:
    who a coordinator's notice is about (who declined the task, or whose task is overdue),
    told to a coordinator who is not an agency; ``family``: the family's link into the web
    app, for a guardian's diploma or advice message."""
    lang = contact.language
    child = child_reference(contact, case_id, child_first_name)
    if isinstance(intent, TaskMessage):
        subject, body = _task(intent, lang, child)
        if answer is not None:
            expires = long_date(answer.expires_on, lang)
            body += "\n\n" + ANSWER[lang].format(link=answer.url, expires=expires)
    elif isinstance(intent, DeclinedTaskMessage | OverdueTaskNotice):
        # the coordinator needs to know who to talk to; an agency's system is told no name
        who = member_name if member_name and not contact.is_agency else SOMEONE[lang]
        if isinstance(intent, DeclinedTaskMessage):
            subject, body = _declined(intent, lang, child, who)
        else:
            subject, body = _overdue_notice(intent, lang, child, who)
    elif isinstance(intent, FamilyAdviceMessage):
        subject, body = _family_advice(intent, lang, child)
    elif isinstance(intent, DiplomaMessage):
        subject_t, body_t = DIPLOMA_READY[lang]
        words = {
            "child": child,
            "child_title": _possessive(child[:1].upper() + child[1:]),
            "child_possessive": _possessive(child),
            "link": diploma_url,
        }
        subject, body = subject_t.format(**words), body_t.format(**words)
    else:
        subject, body = _school_advice(intent, lang, child)
    if family is not None and isinstance(intent, DiplomaMessage | FamilyAdviceMessage):
        expires = long_date(family.expires_on, lang)
        body += "\n\n" + FAMILY_PAGE[lang].format(child=child, expires=expires, link=family.url)
    greeting = GREETING[lang].format(name=contact.name)
    return Message(subject, f"{greeting}\n\n{body}\n\n{SIGN_OFF[lang]}\n", lang)


def _task(intent: TaskMessage, lang: Language, child: str) -> tuple[str, str]:
    category = _category(intent, lang)
    if intent.kind is MessageKind.TASK_ASSIGNED:
        subject_t, body_t = TASK_ASSIGNED[lang]
        due = DUE[lang].format(date=long_date(intent.due_date, lang)) if intent.due_date else ""
        words = {"category": category, "child": child, "due": due}
    else:
        templates = TASK_DUE_SOON if intent.kind is MessageKind.TASK_DUE_SOON else TASK_OVERDUE
        subject_t, body_t = templates[lang]
        date = long_date(intent.due_date, lang) if intent.due_date else ""
        words = {"category": category, "child": child, "date": date}
    return subject_t.format(**words), body_t.format(**words)


def _declined(intent: DeclinedTaskMessage, lang: Language, child: str, who: str) -> tuple[str, str]:
    category = _category(intent, lang)
    reason = ""
    if intent.reason is not None:
        reason = REASON[lang].format(reason=DECLINE_REASON[intent.reason][lang])
    subject_t, body_t = TASK_DECLINED[lang]
    words = {"category": category, "child": child, "who": who, "reason": reason}
    return subject_t.format(**words), body_t.format(**words)


def _overdue_notice(
    intent: OverdueTaskNotice, lang: Language, child: str, who: str
) -> tuple[str, str]:
    subject_t, body_t = TASK_OVERDUE_NOTICE[lang]
    date = long_date(intent.due_date, lang)
    words = {"category": _category(intent, lang), "child": child, "who": who, "date": date}
    return subject_t.format(**words), body_t.format(**words)


def _family_advice(intent: FamilyAdviceMessage, lang: Language, child: str) -> tuple[str, str]:
    subject_t, intro_t = FAMILY_ADVICE[lang]
    parts = [intro_t.format(child=child)]
    if intent.parent_codes:
        parts.append(f"{FOR_PARENTS[lang]}\n{_listed(intent.parent_codes, lang)}")
    if intent.child_codes:
        for_child = FOR_CHILD[lang].format(child=child)
        parts.append(f"{for_child}\n{_listed(intent.child_codes, lang)}")
    return subject_t.format(child=child), "\n\n".join(parts)


def _listed(codes: tuple[str, ...], lang: Language) -> str:
    return "\n".join(f"- {advice_text(code, lang)}" for code in codes)


def _school_advice(intent: SchoolAdviceMessage, lang: Language, child: str) -> tuple[str, str]:
    subject_t, body_t = SCHOOL_ADVICE[lang]
    advice = _listed(intent.advice_codes, lang)
    return subject_t.format(child=child), body_t.format(child=child, advice=advice)
