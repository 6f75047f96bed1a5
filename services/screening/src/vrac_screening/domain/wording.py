"""The diploma's words in every platform language: why each strength is great.

Written for the child ("you"), warm and short.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from vrac_contracts.values import Domain, Language, Pilot

NL, FR, EN = Language.NL, Language.FR, Language.EN


@dataclass(frozen=True)
class Praise:
    """A strength's name and why it is great, in one language."""

    label: str
    reason: str


def _p(label: str, reason: str) -> Praise:
    return Praise(label, reason)


PRAISE: Final[dict[Domain, dict[Language, Praise]]] = {
    Domain.WORKING_MEMORY: {
        NL: _p(
            "Onthouden",
            "Jij kunt veel dingen tegelijk in je hoofd houden. Daarmee leer "
            "je snel en weet je precies wat je moet doen.",
        ),
        FR: _p(
            "Retenir les choses",
            "Tu gardes beaucoup de choses en tête à la fois. Cela "
            "t'aide à apprendre vite et à savoir exactement quoi faire.",
        ),
        EN: _p(
            "Remembering things",
            "You can keep lots of things in your head at once. That "
            "helps you learn fast and know exactly what to do.",
        ),
    },
    Domain.ATTENTION: {
        NL: _p("Opletten", "Jij kunt je echt concentreren op wat je doet. Zo maak je mooi werk."),
        FR: _p(
            "Faire attention",
            "Tu sais vraiment te concentrer sur ce que tu fais. C'est "
            "comme ça qu'on fait du beau travail.",
        ),
        EN: _p(
            "Paying attention",
            "You can really focus on what you are doing. That is how great work gets done.",
        ),
    },
    Domain.PROCESSING_SPEED: {
        NL: _p(
            "Snel denken", "Jij ziet en begrijpt dingen snel. Zo heb je tijd over voor nog meer."
        ),
        FR: _p(
            "Penser vite",
            "Tu vois et comprends les choses rapidement. Ça te laisse du "
            "temps pour faire encore plus.",
        ),
        EN: _p(
            "Thinking fast",
            "You see and understand things quickly. That leaves you time to do even more.",
        ),
    },
    Domain.PLANNING: {
        NL: _p(
            "Plannen",
            "Jij weet hoe je stap voor stap van begin tot eind komt. Met zo'n "
            "plan lukken grote dingen.",
        ),
        FR: _p(
            "Faire un plan",
            "Tu sais avancer étape par étape, du début à la fin. Avec un "
            "plan comme le tien, on réussit de grandes choses.",
        ),
        EN: _p(
            "Making a plan",
            "You know how to get from start to finish, step by step. "
            "Plans like yours make big things happen.",
        ),
    },
    Domain.READING: {
        NL: _p(
            "Lezen",
            "Boeken openen voor jou de deur naar nieuwe werelden. Elk verhaal "
            "leert je iets nieuws.",
        ),
        FR: _p(
            "Lire",
            "Les livres t'ouvrent les portes de nouveaux mondes. Chaque histoire "
            "t'apprend quelque chose.",
        ),
        EN: _p(
            "Reading",
            "Books open doors to new worlds for you. Every story teaches you something new.",
        ),
    },
    Domain.SPELLING: {
        NL: _p(
            "Spellen",
            "Jij weet hoe woorden geschreven worden. Zo kan iedereen jouw "
            "verhalen en berichten goed lezen.",
        ),
        FR: _p(
            "L'orthographe",
            "Tu sais comment s'écrivent les mots. Ainsi, tout le monde "
            "peut bien lire tes histoires et tes messages.",
        ),
        EN: _p(
            "Spelling",
            "You know how words are written. That makes your stories and "
            "messages easy for everyone to read.",
        ),
    },
    Domain.MATHS: {
        NL: _p(
            "Rekenen",
            "Getallen zijn jouw vrienden. Jij lost puzzels op die anderen moeilijk vinden.",
        ),
        FR: _p(
            "Les maths",
            "Les nombres sont tes amis. Tu résous des énigmes que d'autres trouvent difficiles.",
        ),
        EN: _p("Maths", "Numbers are your friends. You solve puzzles that others find hard."),
    },
    Domain.LANGUAGE: {
        NL: _p(
            "Taal en praten",
            "Jij vindt de juiste woorden om te zeggen wat je bedoelt. "
            "Zo begrijpen anderen jou, en jij hen.",
        ),
        FR: _p(
            "Les mots et la parole",
            "Tu trouves les bons mots pour dire ce que tu penses. "
            "Ainsi les autres te comprennent, et tu les comprends.",
        ),
        EN: _p(
            "Words and talking",
            "You find the right words to say what you mean. That "
            "helps others understand you, and you them.",
        ),
    },
    Domain.MORAL_REASONING: {
        NL: _p(
            "Weten wat goed en fout is",
            "Jij weet goed wat eerlijk is en wat niet. Op jou kunnen anderen bouwen.",
        ),
        FR: _p(
            "Savoir ce qui est juste",
            "Tu sais bien ce qui est juste et ce qui ne l'est "
            "pas. Les autres peuvent compter sur toi.",
        ),
        EN: _p(
            "Knowing right from wrong",
            "You know well what is fair and what is not. People can count on you.",
        ),
    },
    Domain.SOCIAL_SKILLS: {
        NL: _p(
            "Samen spelen en werken",
            "Jij kunt goed samenspelen en samenwerken. Anderen hebben je graag in hun team.",
        ),
        FR: _p(
            "Jouer et travailler ensemble",
            "Tu sais bien jouer et travailler avec les "
            "autres. Tout le monde aime t'avoir dans son équipe.",
        ),
        EN: _p(
            "Getting on with others",
            "You are good at playing and working together. "
            "Everyone likes having you on their team.",
        ),
    },
    Domain.EMPATHY: {
        NL: _p(
            "Zorgen voor anderen",
            "Jij merkt hoe anderen zich voelen en je helpt ze. "
            "Zo maak je de wereld een stukje liever.",
        ),
        FR: _p(
            "Prendre soin des autres",
            "Tu remarques ce que ressentent les autres et tu "
            "les aides. Tu rends le monde plus doux.",
        ),
        EN: _p(
            "Caring for others",
            "You notice how others feel and you help them. That makes the world a kinder place.",
        ),
    },
    Domain.EMOTION_REGULATION: {
        NL: _p(
            "Rustig blijven",
            "Jij kunt rustig worden, ook als iets moeilijk is. Dat is echte kracht.",
        ),
        FR: _p(
            "Rester calme",
            "Tu sais retrouver ton calme, même quand c'est difficile. C'est une vraie force.",
        ),
        EN: _p(
            "Staying calm",
            "You can find your calm, even when things are hard. That is real strength.",
        ),
    },
    Domain.CREATIVITY: {
        NL: _p(
            "Creativiteit",
            "Jij bedenkt dingen waar niemand anders op komt. Met jouw "
            "fantasie maak je iets nieuws.",
        ),
        FR: _p(
            "La créativité",
            "Tu as des idées auxquelles personne n'a pensé. Ton "
            "imagination invente des choses nouvelles.",
        ),
        EN: _p(
            "Creativity",
            "You come up with ideas nobody else thought of. Your imagination makes new things.",
        ),
    },
    Domain.MOTOR_SKILLS: {
        NL: _p(
            "Bewegen en maken",
            "Jouw handen en lijf doen wat jij wilt. Jij kunt bouwen, sporten en dingen maken.",
        ),
        FR: _p(
            "Bouger et fabriquer",
            "Tes mains et ton corps font ce que tu veux. Tu sais "
            "construire, faire du sport et fabriquer des choses.",
        ),
        EN: _p(
            "Moving and making",
            "Your hands and body do what you want. You can build, play sport and make things.",
        ),
    },
    Domain.PERSEVERANCE: {
        NL: _p("Doorzetten", "Jij geeft niet op als iets moeilijk is. Zo bereik je je doelen."),
        FR: _p(
            "Persévérer",
            "Tu n'abandonnes pas quand c'est difficile. C'est comme ça que "
            "tu atteins tes objectifs.",
        ),
        EN: _p(
            "Keeping going",
            "You do not give up when something is hard. That is how you reach your goals.",
        ),
    },
    Domain.CURIOSITY: {
        NL: _p(
            "Nieuwsgierigheid",
            "Jij wilt weten hoe alles werkt. Met jouw vragen leer je elke dag iets nieuws.",
        ),
        FR: _p(
            "La curiosité",
            "Tu veux savoir comment tout fonctionne. Grâce à tes "
            "questions, tu apprends chaque jour.",
        ),
        EN: _p(
            "Curiosity",
            "You want to know how everything works. Your questions help you learn every day.",
        ),
    },
}


@dataclass(frozen=True)
class Phrases:
    title: str
    given_to: str
    because: str
    cheer: str
    signed: str  # with {pilot}
    check: str  # beside the QR code to the public check of the diploma


PHRASES: Final[dict[Language, Phrases]] = {
    NL: Phrases(
        "Diploma",
        "Dit diploma is met trots uitgereikt aan",
        "omdat jij zo goed bent in",
        "Goed gedaan, blijf stralen!",
        "Het VRAC-team in {pilot}",
        "Controleer dit diploma",
    ),
    FR: Phrases(
        "Diplôme",
        "Ce diplôme est remis avec fierté à",
        "pour tous tes talents",
        "Bravo, continue de briller !",
        "L'équipe VRAC de {pilot}",
        "Vérifier ce diplôme",
    ),
    EN: Phrases(
        "Diploma",
        "This diploma is proudly given to",
        "for being great at",
        "Well done, keep shining!",
        "The VRAC team in {pilot}",
        "Check this diploma",
    ),
}


PILOT_NAMES: Final[dict[Pilot, str]] = {
    Pilot.LEIDEN: "Leiden",
    Pilot.MECHELEN: "Mechelen",
    Pilot.EAST_SUSSEX: "East Sussex",
    Pilot.NORWICH: "Norwich",
    Pilot.LILLE: "Lille",
    Pilot.WATTRELOS: "Wattrelos",
}


def praise(domain: Domain, language: Language) -> Praise:
    return PRAISE[domain][language]
