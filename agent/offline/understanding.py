"""What a caller's words mean to the offline agent: the job they want, yes or no, a name, a plate, a car, a
service from the menu, one of the times offered.

Plain word rules over one utterance as speech-to-text writes it. Each reader answers only when the words are
clear; anything it cannot tell it leaves as None, and the dialogue asks (a guess never changes data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    BOOK = "book"
    MOVE = "move"
    CANCEL = "cancel"
    CONFIRM = "confirm"
    STATUS = "status"  # "is my car ready?"
    UPCOMING = "upcoming"  # "when is my appointment?"
    MESSAGE = "message"
    PERSON = "person"
    GOODBYE = "goodbye"
    HOURS = "hours"
    PRICE = "price"
    QUESTION = "question"
    STOP_CALLING = "stop_calling"  # "stop calling me", "take me off your list"
    REMINDED = "reminded"  # "you called me about my appointment", "I got your message"


def words_of(text: str) -> str:
    """Lower case, apostrophes kept, other punctuation spaced out: ``"Yes, please!"`` -> ``"yes please"``."""
    text = text.lower().replace("\u2019", "'")
    return " ".join(re.sub(r"[^a-z0-9':/ ]+", " ", text).split())


def _has(text: str, pattern: str) -> bool:
    return re.search(pattern, text) is not None


# Phrases, as regular expressions over words_of(text). Word boundaries keep "cancel" out of "cancellation policy".
_PERSON = (r"\b(speak|talk|transfer|connect|put me through)\b.*\b(person|human|someone|somebody|advisor|adviser|"
           r"representative|agent|manager|service writer|real)\b|\b(a|real) (person|human)\b|\brepresentative\b|"
           r"\boperator\b")  # fmt: skip
_MESSAGE = r"\b(leave|take) (a )?message\b|\bcall me back\b|\bcallback\b|\bcall back\b|\bhave (someone|somebody|an advisor) call\b"
_GOODBYE = r"^(ok(ay)? )?(that's all|that is all|that's it|nothing else|no that's (all|it)|bye|goodbye|good bye|bye bye|have a good (day|one)|thanks bye|thank you bye)\b|\b(goodbye|bye)$"  # noqa: E501
# "change my appointment", "move it to Friday", "reschedule": not "an oil change", not "change the oil".
_MOVE = (r"\breschedule\b|\bre schedule\b|\b(move|push|switch|(?<!oil )change)\s+(my|our|the|it)\b"
         r"(?!\s+(oil|tires?|filters?|wipers?|battery|brakes?)\b)")  # fmt: skip
_CANCEL = r"\bcancel\b(?!lation)"
_CONFIRM = r"\bconfirm(ing)?\b.*\b(appointment|booking|it|visit)\b|\b(i'll|i will|we'll) be there\b"
_STATUS = (r"\b(my|the) (car|truck|vehicle|suv|van|jeep)\b.*\b(ready|done|finished)\b|\b(ready|done) yet\b|"
           r"\bstatus of my\b|\bhow('s| is) my (car|truck|vehicle)\b|\bready for pick ?up\b|\bcan i pick (it|my)\b")  # fmt: skip
_UPCOMING = (r"\bwhen('s| is)? my (next )?(appointment|booking|visit)\b|\bwhen my (next )?(appointment|booking|visit) is\b|"
             r"\bdo i have an? (appointment|booking)\b|\bwhat time is my\b|\bmy appointments?\b\?*$")  # fmt: skip
# A booking names the booking itself; "I need an oil change" is read as one by the service it names.
_BOOK = (r"\b(book|schedule|make|set up|get|need|want|like)\b.*\b(appointment|booking|slot)\b|"
         r"\bbring (it|my|the|her|him)\b.*\bin\b|\bcome in\b|\bdrop (it|my|the) (car )?off\b|\bbook\b|\bschedule\b")  # fmt: skip
# Not wanting our calls any more; "don't call me back" alone is not it (the caller may only mean they will call).
_STOP_CALLING = (r"\bstop (calling|phoning|ringing|contacting)\b|\b(don't|do not|never) (call|phone|ring) (me|us|this number)"
                 r" (again|anymore|any more|ever)\b|\btake (me|my number|us|this number) off\b|"
                 r"\bremove (me|my number|us|this number) from\b|\bno more (calls|reminders|reminder calls|phone calls)\b|"
                 r"\bdo not call list\b|\bopt(ing)? out\b|\bunsubscribe\b|\bdon't want (any )?(more )?(of )?(these |your )?"
                 r"(calls|reminders|reminder calls)\b")  # fmt: skip
# The dealership called the caller (a reminder call, its voicemail, a missed call) and they are calling back.
_REMINDED = (r"\byou (guys )?(called|rang|phoned|left)( me| us)?\b|\b(someone|somebody) (from (there|your \w+) )?"
             r"(called|rang|phoned|left)\b|\b(got|received|had|missed|listened to) (a |your |the |this |that )?"
             r"(call|message|voicemail|reminder)\b|\breturning (your|a|the) call\b|\bcalling (you )?back\b")  # fmt: skip
_HOURS = r"\b(hours|open|close|closing|opening)\b"
_PRICE = r"\b(how much|price|cost|costs|charge|expensive)\b"
_QUESTION = r"\?$|^(do|does|can|what|where|when|how|is|are|will|who|which|why)\b"
# Another person's appointment or car ("my neighbour's appointment", "John Smith's car", "my wife asked me to check
# her appointment"), not "a friend's phone".
_SOMEONE_ELSE = (r"\b((wife|husband|son|daughter|mother|mom|father|dad|neighbou?r|friend|brother|sister|boss|partner|"
                 r"girlfriend|boyfriend|someone else|somebody else)|[a-z]+ [a-z]+)'?s (next )?(appointment|car|truck|"
                 r"vehicle|booking|visit)\b|\b(her|his|their) (next )?(appointment|booking|visit)\b")  # fmt: skip

_YES = (r"^(yes|yeah|yep|yup|ya|sure|correct|right|ok|okay|alright|all right|perfect|great|sounds good|"
        r"that works|that's right|that is right|that's correct|please do|go ahead|do it|absolutely|definitely|"
        r"of course|yes please|book it|confirm it|that's fine|fine|good|uh huh|mhm|affirmative)\b")  # fmt: skip
_NO = (r"^(no|nope|nah|not really|not quite|wait|hold on|don't|do not|negative|actually no|that's wrong|"
       r"that is wrong|not right|wrong)\b|\bno thanks?\b|\bno thank you\b")  # fmt: skip
_NEVER_MIND = r"\b(never ?mind|forget (it|that|about it)|don't bother|scratch that|i changed my mind|no longer need)\b"
_NEW_CUSTOMER = (r"\b(new|first time|never been|not a customer|haven't been|have not been|don't have an account|"
                 r"no account|never (came|come|visited))\b")  # fmt: skip
_THANKS = r"^(thanks|thank you|thank you very much|thanks a lot|great thanks|perfect thanks)\b"


def intent_of(text: str) -> Intent | None:
    """The job the caller asks for, or None when the words ask none (an answer, a greeting)."""
    said = words_of(text)
    if not said:
        return None
    checks: list[tuple[str, Intent]] = [
        (_STOP_CALLING, Intent.STOP_CALLING),
        (_PERSON, Intent.PERSON),
        (_MESSAGE, Intent.MESSAGE),
        (_STATUS, Intent.STATUS),
        (_CANCEL, Intent.CANCEL),
        (_MOVE, Intent.MOVE),
        (_CONFIRM, Intent.CONFIRM),
        (_REMINDED, Intent.REMINDED),
        (_UPCOMING, Intent.UPCOMING),
        (_PRICE, Intent.PRICE),
        (_HOURS, Intent.HOURS),
        (_BOOK, Intent.BOOK),
        (_GOODBYE, Intent.GOODBYE),
    ]
    for pattern, intent in checks:
        if _has(said, pattern):
            if intent is Intent.HOURS and _has(said, _BOOK) and not _has(said, r"\bhours\b"):
                return Intent.BOOK  # "can I come in when you open" is a booking
            return intent
    if _has(said, _QUESTION) or len(said.split()) >= 4:
        return Intent.QUESTION
    return None


def is_yes(text: str) -> bool:
    said = words_of(text)
    return _has(said, _YES) and not _has(said, r"\bnot?\b(?! problem)") and not is_no(text)


def is_no(text: str) -> bool:
    return _has(words_of(text), _NO)


def is_never_mind(text: str) -> bool:
    return _has(words_of(text), _NEVER_MIND)


def is_thanks(text: str) -> bool:
    return _has(words_of(text), _THANKS)


def is_greeting(text: str) -> bool:
    return _has(words_of(text), r"^(hi|hello|hey|good (morning|afternoon|evening)|yes hi|hi there|hello there)\b")


def says_new_customer(text: str) -> bool:
    return _has(words_of(text), _NEW_CUSTOMER)


def about_someone_else(text: str) -> bool:
    """The caller asks about another person's appointment or car."""
    return _has(words_of(text), _SOMEONE_ELSE)


# --------------------------------------------------------------------------- names and plates

_NAME_CUES = re.compile(
    r"^(yes|yeah|sure|ok|okay|so|um|uh|hi|hello|well)?\s*,?\s*(my name is|my name's|name's|name is|this is|it's|it is|"
    r"i'm|i am|the name is|call me)?\s*",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"^[A-Za-z][A-Za-z'\-]*$")
_NOT_NAMES = frozenset(
    "yes yeah no sure ok okay my name is it's i'm am the a an and please thanks thank you um uh calling hi hello "
    "this plate license car new customer one two three first second third last that those these it me i you we "
    "morning afternoon evening today tomorrow monday tuesday wednesday thursday friday saturday sunday next "
    "book appointment oil change brake brakes tire tires rotation service yep nope fine good great".split()
)


def name_of(text: str) -> tuple[str, str] | None:
    """(first, last) from "It's Maria Garcia" or "Maria Garcia, thanks"; None unless two name words are clear."""
    cleaned = _NAME_CUES.sub("", text.strip(), count=1)
    cleaned = re.split(r"[,.;!?]| and | my | from | calling ", cleaned)[0]
    words = [w for w in cleaned.split() if _NAME_WORD.match(w) and w.lower() not in _NOT_NAMES]
    if len(words) < 2 or len(words) > 3:
        return None
    first, last = words[0], " ".join(words[1:])
    return first[:1].upper() + first[1:], last[:1].upper() + last[1:]


_PLATE_CUES = re.compile(
    r"\b(my|the|license|licence|plate|plates|number|tag|is|it's|it|yes|yeah|sure|okay|ok|um|uh|on|car|of)\b",
    re.IGNORECASE,
)


def plate_of(text: str) -> str | None:
    """Letters and digits of a plate as said ("ABC 1234", "a b c 1 2 3 4"); None without a plausible one."""
    rest = _PLATE_CUES.sub(" ", text)
    characters = "".join(ch for ch in rest if ch.isalnum()).upper()
    if not 2 <= len(characters) <= 8 or not any(ch.isdigit() for ch in characters):
        return None
    return characters


# --------------------------------------------------------------------------- cars

MAKES = (
    "Acura Audi BMW Buick Cadillac Chevrolet Chevy Chrysler Dodge Fiat Ford GMC Genesis Honda Hyundai Infiniti "
    "Jaguar Jeep Kia Land Rover Lexus Lincoln Mazda Mercedes Mercedes-Benz Mini Mitsubishi Nissan Polestar Porsche "
    "Ram Rivian Subaru Tesla Toyota Volkswagen VW Volvo"
).split()
_MAKE_NAMES = {"chevy": "Chevrolet", "vw": "Volkswagen", "mercedes": "Mercedes-Benz"}


@dataclass(frozen=True)
class CarSaid:
    year: int
    make: str
    model: str


def car_of(text: str) -> CarSaid | None:
    """ "a 2020 Toyota Camry" -> CarSaid(2020, "Toyota", "Camry"); None without a year, a make and a model."""
    year_match = re.search(r"\b(19[5-9]\d|20\d\d)\b", text)
    if year_match is None:
        return None
    after = text[year_match.end():]
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]*", after)
    for index, word in enumerate(words):
        make = next((m for m in MAKES if m.lower() == word.lower()), None)
        if make is None:
            continue
        model_words = [w for w in words[index + 1:index + 3] if w.lower() not in {"please", "thanks", "and", "with"}]
        if not model_words:
            return None
        make = _MAKE_NAMES.get(make.lower(), make)
        model = " ".join(w if any(c.isdigit() for c in w) or w.isupper() else w.capitalize() for w in model_words)
        return CarSaid(int(year_match.group(1)), make, model)
    return None


def vehicle_choice(text: str, vehicles: Sequence[dict]) -> dict | None:
    """Which of the caller's vehicles ({"id", "name", ...}) the words name, when exactly one fits."""
    said = set(words_of(text).split())
    if _has(words_of(text), r"\b(first|1st) one\b|\bthe first\b"):
        return vehicles[0] if vehicles else None
    if _has(words_of(text), r"\b(second|2nd) one\b|\bthe second\b") and len(vehicles) > 1:
        return vehicles[1]
    fitting = []
    for vehicle in vehicles:
        name_words = set(words_of(vehicle["name"]).split())
        if said & (name_words - {"the"}):
            fitting.append(vehicle)
    return fitting[0] if len(fitting) == 1 else None


# --------------------------------------------------------------------------- the service menu


def services_named(text: str, menu: Sequence[dict]) -> list[dict]:
    """The menu's services ({"id", "name", "also_called"}) that the words name, by name or alias; longest first
    so "front brakes" wins over "brake check" when both could match."""
    said = f" {words_of(text)} "
    found: list[dict] = []
    claimed: list[tuple[int, int]] = []
    candidates = []
    for service in menu:
        for label in [service["name"], *service.get("also_called", [])]:
            phrase = words_of(label)
            if phrase:
                candidates.append((phrase, service))
            singular = re.sub(r"s\b", "", phrase)
            if singular != phrase:
                candidates.append((singular, service))
    for phrase, service in sorted(candidates, key=lambda item: -len(item[0])):
        for match in re.finditer(rf"(?<= ){re.escape(phrase)}s?(?= )", said):
            span = (match.start(), match.end())
            if any(a < span[1] and span[0] < b for a, b in claimed):
                continue
            claimed.append(span)
            if service not in found:
                found.append(service)
    return found


# --------------------------------------------------------------------------- choosing among offered times

_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1, "earliest": 0,
             "earlier": 0, "later": -1, "latest": -1}  # fmt: skip


def ordinal_choice(text: str, count: int) -> int | None:
    """ "the first one", "the second", "the last one", "the earlier one": an index into ``count`` options."""
    said = words_of(text)
    for word, index in _ORDINALS.items():
        if _has(said, rf"\b(the )?{word}( one| option| time)?\b"):
            if index == -1:
                return count - 1
            return index if index < count else None
    if _has(said, r"\b(any|either|whichever|doesn't matter|does not matter|any of them|you pick|whatever)\b"):
        return 0
    return None


# --------------------------------------------------------------------------- is a passage about the question?

_STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from about as is are was were be been being do does did "
    "have has had can could will would should may might must shall i you your yours we our us my me it its this "
    "that these those there here what which who whom whose when where why how any some all no not yes please "
    "tell know want need like get got just also so than then too very really much many more most one ok okay "
    "hi hello hey thanks thank um uh".split()
)


def _content_words(text: str) -> set[str]:
    return {word.rstrip("s") for word in re.findall(r"[a-z0-9]+", text.lower())
            if word not in _STOPWORDS and len(word) > 2}  # fmt: skip


def is_about(question: str, passage: str) -> bool:
    """Whether a passage shares a content word with the question: the search always returns its nearest
    passages, and the offline agent cannot judge meaning, so a passage with none of the caller's words is
    not said as an answer."""
    return bool(_content_words(question) & _content_words(passage))


# --------------------------------------------------------------------------- how the car comes in, and numbers

_TRANSPORT = [
    ("loaner", r"\bloaner\b|\brental\b"),
    ("shuttle", r"\bshuttle\b|\bride (home|to work)\b"),
    ("drop_off", r"\bdrop (it|the car|my car|the truck|it) off\b|\bdrop off\b|\bdrop the car off\b|\bleave (it|the car|my car)\b"),
    ("waiter", r"\b(i'll|i will|i'd|i can) wait\b|\bwait for it\b|\bwhile i wait\b"),
]


def transport_of(text: str) -> str | None:
    """How the car comes in, when the caller says: waiter, drop_off, shuttle or loaner."""
    said = words_of(text)
    for value, pattern in _TRANSPORT:
        if _has(said, pattern):
            return value
    return None


_PHONE = re.compile(r"(?<!\d)(?:\+?1[\s.-]*)?\(?(\d{3})\)?[\s.-]*(\d{3})[\s.-]*(\d{4})(?!\d)")


def phone_in(text: str) -> str | None:
    """A ten-digit number said in the words ("602 555 0165"), as digits; None without one."""
    match = _PHONE.search(text)
    return "".join(match.groups()) if match else None
