"""The advice library: coded advice with its text in every platform language.

Screening rules pick advice codes; events carry only the codes. Whoever shows the advice
to a person (the notifications service, a partner's system) looks the text up here in the
recipient's language, so the wording can improve without a new event version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from .errors import ContractError
from .values import AdviceAudience, Domain, Language


class AdviceCode(StrEnum):
    """A piece of advice from the advice library."""

    MEMORY_FOR_READING = "memory-for-reading"
    QUIET_PLACE_IN_CLASS = "quiet-place-in-class"
    SHORT_CLEAR_INSTRUCTIONS = "short-clear-instructions"
    MOVEMENT_BREAKS = "movement-breaks"
    READ_ALOUD_TOGETHER = "read-aloud-together"
    MATHS_IN_DAILY_LIFE = "maths-in-daily-life"
    VISUAL_STEP_PLAN = "visual-step-plan"
    NAME_THE_FEELING = "name-the-feeling"
    CALM_DOWN_CORNER = "calm-down-corner"
    PRAISE_THE_EFFORT = "praise-the-effort"
    SENSE_OF_FAIRNESS_ROLE = "sense-of-fairness-role"
    HELPER_ROLE_IN_GROUP = "helper-role-in-group"
    CREATIVE_OUTLET = "creative-outlet"
    SPORT_AND_MOVEMENT_CLUB = "sport-and-movement-club"
    EXTRA_TIME_FOR_TASKS = "extra-time-for-tasks"
    SPELLING_GAMES = "spelling-games"
    TALK_ABOUT_THE_DAY = "talk-about-the-day"
    ASK_FOR_A_BREAK = "ask-for-a-break"
    SHOW_YOUR_STRENGTH = "show-your-strength"
    ONE_THING_AT_A_TIME = "one-thing-at-a-time"
    CURIOUS_QUESTIONS_WELCOME = "curious-questions-welcome"
    FINISH_WHAT_YOU_START = "finish-what-you-start"


@dataclass(frozen=True)
class Advice:
    """One entry of the library."""

    code: AdviceCode
    audience: AdviceAudience
    domain: Domain
    text: MappingProxyType[Language, str]

    def text_in(self, language: Language | str) -> str:
        return self.text[Language(language)]


def _advice(
    code: AdviceCode, audience: AdviceAudience, domain: Domain, *, nl: str, fr: str, en: str
) -> Advice:
    texts = {Language.NL: nl, Language.FR: fr, Language.EN: en}
    return Advice(code, audience, domain, MappingProxyType(texts))


_S, _P, _C = AdviceAudience.SCHOOL, AdviceAudience.PARENTS, AdviceAudience.CHILD
_A = AdviceCode

ADVICE: Final[MappingProxyType[AdviceCode, Advice]] = MappingProxyType(
    {
        a.code: a
        for a in (
            _advice(
                _A.MEMORY_FOR_READING, _S, Domain.WORKING_MEMORY,
                nl="Laat het kind bij het lezen oefenen steunen op zijn sterke werkgeheugen: "
                "eerst een zin onthouden en navertellen, dan samen lezen.",
                fr="Appuyez-vous sur sa très bonne mémoire de travail pour la lecture : "
                "retenir une phrase, la redire, puis la lire ensemble.",
                en="Use the strong working memory when practising reading: remember a "
                "sentence, say it back, then read it together.",
            ),
            _advice(
                _A.QUIET_PLACE_IN_CLASS, _S, Domain.ATTENTION,
                nl="Geef het kind een rustige plek in de klas, weg van deur en drukte.",
                fr="Offrez-lui une place calme dans la classe, loin de la porte et de "
                "l'agitation.",
                en="Give the child a quieter place in the class, away from the door and "
                "the bustle.",
            ),
            _advice(
                _A.SHORT_CLEAR_INSTRUCTIONS, _S, Domain.ATTENTION,
                nl="Geef korte opdrachten, één tegelijk, en laat het kind ze even herhalen.",
                fr="Donnez des consignes courtes, une à la fois, et faites-les reformuler.",
                en="Give short instructions, one at a time, and let the child repeat them "
                "back.",
            ),
            _advice(
                _A.MOVEMENT_BREAKS, _S, Domain.MOTOR_SKILLS,
                nl="Plan korte beweegpauzes in; even iets rondbrengen helpt al.",
                fr="Prévoyez de courtes pauses pour bouger ; distribuer quelque chose "
                "suffit déjà.",
                en="Plan short movement breaks; even handing something out helps.",
            ),
            _advice(
                _A.READ_ALOUD_TOGETHER, _P, Domain.READING,
                nl="Lees elke dag tien minuten samen voor, om de beurt een bladzijde.",
                fr="Lisez ensemble dix minutes par jour, chacun son tour une page.",
                en="Read aloud together for ten minutes a day, taking turns page by page.",
            ),
            _advice(
                _A.MATHS_IN_DAILY_LIFE, _P, Domain.MATHS,
                nl="Reken samen in het dagelijks leven: boodschappen, koken, de klok.",
                fr="Comptez ensemble au quotidien : les courses, la cuisine, l'heure.",
                en="Do maths together in daily life: shopping, cooking, telling the time.",
            ),
            _advice(
                _A.VISUAL_STEP_PLAN, _S, Domain.PLANNING,
                nl="Zet een taak in een stappenplan met plaatjes op de tafel.",
                fr="Mettez la tâche en étapes illustrées, posées sur la table.",
                en="Break a task into a picture step plan on the desk.",
            ),
            _advice(
                _A.NAME_THE_FEELING, _P, Domain.EMOTION_REGULATION,
                nl="Benoem samen het gevoel voordat de boosheid groot wordt: "
                "\"Ik zie dat je boos wordt.\"",
                fr="Nommez ensemble l'émotion avant que la colère ne monte : "
                "« Je vois que tu te fâches. »",
                en="Name the feeling together before the anger grows: "
                "\"I can see you are getting angry.\"",
            ),
            _advice(
                _A.CALM_DOWN_CORNER, _S, Domain.EMOTION_REGULATION,
                nl="Spreek een vaste rustplek af waar het kind even mag afkoelen.",
                fr="Convenez d'un coin calme où l'enfant peut aller se poser un moment.",
                en="Agree on a calm-down corner where the child may go to cool off.",
            ),
            _advice(
                _A.PRAISE_THE_EFFORT, _P, Domain.PERSEVERANCE,
                nl="Prijs de moeite en het doorzetten, niet alleen het resultaat.",
                fr="Félicitez l'effort et la persévérance, pas seulement le résultat.",
                en="Praise the effort and sticking with it, not only the result.",
            ),
            _advice(
                _A.SENSE_OF_FAIRNESS_ROLE, _S, Domain.MORAL_REASONING,
                nl="Het kind weet goed wat goed en fout is: geef het een rol bij het maken "
                "van klassenafspraken.",
                fr="L'enfant sait bien ce qui est juste : donnez-lui un rôle dans les règles "
                "de la classe.",
                en="The child knows right from wrong well: give them a part in making the "
                "class rules.",
            ),
            _advice(
                _A.HELPER_ROLE_IN_GROUP, _S, Domain.SOCIAL_SKILLS,
                nl="Geef het kind een helpende rol in groepswerk, zodat het zich nodig voelt.",
                fr="Confiez-lui un rôle d'aide dans le travail de groupe, pour qu'il se "
                "sente utile.",
                en="Give the child a helper role in group work, so they feel needed.",
            ),
            _advice(
                _A.CREATIVE_OUTLET, _P, Domain.CREATIVITY,
                nl="Geef ruimte om te tekenen, bouwen of muziek te maken; daar komt het "
                "kind tot rust.",
                fr="Laissez de la place pour dessiner, construire ou faire de la musique ; "
                "l'enfant s'y apaise.",
                en="Make room for drawing, building or making music; that is where the "
                "child settles.",
            ),
            _advice(
                _A.SPORT_AND_MOVEMENT_CLUB, _P, Domain.MOTOR_SKILLS,
                nl="Zoek samen een sportclub of beweegactiviteit die het kind leuk vindt.",
                fr="Cherchez ensemble un club de sport ou une activité qui lui plaît.",
                en="Find a sports club or active hobby together that the child enjoys.",
            ),
            _advice(
                _A.EXTRA_TIME_FOR_TASKS, _S, Domain.PROCESSING_SPEED,
                nl="Geef wat extra tijd bij toetsen en opdrachten; het kind kan het wel, "
                "alleen in zijn eigen tempo.",
                fr="Accordez un peu plus de temps aux contrôles : l'enfant sait faire, "
                "à son rythme.",
                en="Allow some extra time for tests and tasks; the child can do it, at "
                "their own pace.",
            ),
            _advice(
                _A.SPELLING_GAMES, _P, Domain.SPELLING,
                nl="Oefen spelling als spel: woordjes raden, letters leggen, rijmen.",
                fr="Travaillez l'orthographe en jouant : deviner des mots, former des "
                "lettres, rimer.",
                en="Practise spelling as a game: guessing words, laying out letters, "
                "rhyming.",
            ),
            _advice(
                _A.TALK_ABOUT_THE_DAY, _P, Domain.LANGUAGE,
                nl="Vraag elke dag naar één mooi en één moeilijk moment, en luister.",
                fr="Demandez chaque jour un bon et un moment difficile, et écoutez.",
                en="Ask every day about one good and one hard moment, and listen.",
            ),
            _advice(
                _A.ASK_FOR_A_BREAK, _C, Domain.EMOTION_REGULATION,
                nl="Voel je dat je boos wordt? Vraag om even pauze, dat mag.",
                fr="Tu sens que tu te fâches ? Demande une petite pause, tu as le droit.",
                en="Feel yourself getting angry? Ask for a short break; that is allowed.",
            ),
            _advice(
                _A.SHOW_YOUR_STRENGTH, _C, Domain.WORKING_MEMORY,
                nl="Jij kunt heel goed dingen onthouden. Gebruik dat als je leest!",
                fr="Tu retiens très bien les choses. Sers-t'en quand tu lis !",
                en="You are great at remembering things. Use that when you read!",
            ),
            _advice(
                _A.ONE_THING_AT_A_TIME, _C, Domain.ATTENTION,
                nl="Doe één ding tegelijk en vink het af als het klaar is.",
                fr="Fais une chose à la fois et coche-la quand c'est fini.",
                en="Do one thing at a time and tick it off when it is done.",
            ),
            _advice(
                _A.CURIOUS_QUESTIONS_WELCOME, _S, Domain.CURIOSITY,
                nl="Moedig de vragen van het kind aan; nieuwsgierigheid is een kracht.",
                fr="Encouragez ses questions : la curiosité est une force.",
                en="Welcome the child's questions; curiosity is a strength.",
            ),
            _advice(
                _A.FINISH_WHAT_YOU_START, _C, Domain.PERSEVERANCE,
                nl="Je zet goed door. Maak af waar je aan begint, en wees er trots op.",
                fr="Tu es persévérant. Termine ce que tu commences et sois-en fier.",
                en="You keep going. Finish what you start, and be proud of it.",
            ),
        )
    }
)


def advice(code: AdviceCode | str) -> Advice:
    """The library entry for ``code``; raises ContractError when the code is unknown."""
    try:
        return ADVICE[AdviceCode(code)]
    except ValueError:
        raise ContractError("advice.code", "not in the advice library") from None


def advice_text(code: AdviceCode | str, language: Language | str) -> str:
    """The text of advice ``code`` in ``language`` (``nl``, ``fr`` or ``en``)."""
    entry = advice(code)
    try:
        return entry.text_in(language)
    except ValueError:
        raise ContractError("language", "not a platform language") from None
