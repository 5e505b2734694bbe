"""From the agent's streamed reply to text that Deepgram Aura can speak, early and the way a person would say it.

Two steps, in this order:

1. ``SentenceChunker`` cuts the token stream into chunks (sentences, or clauses once a chunk is long enough),
   so that speech starts on the first words while the model is still writing the rest.
2. ``speakable`` rewrites one chunk for the ear. Aura reads text literally, so "$79.95", "7:30 a.m.",
   "11/24", "602-555-0142" or "Dr." come out wrong unless written as words: "79 dollars and 95 cents",
   "7 30 AM", "November 24th", "6 0 2, 5 5 5, 0 1 4 2", "Doctor" or "Drive".

Standard library only and no Django, so both run anywhere and are tested without a database.
"""

import datetime
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

__all__ = ["SentenceChunker", "speakable"]


# =========================================================================== chunking

_LINE_BREAKS = "\n\r"
_SENTENCE_MARKS = ".!?…"
_CLAUSE_MARKS = ",;:"
_SPACED_DASHES = "-–"  # a clause boundary only with spaces around: "8-6" and "5W-30" are not clauses
_EM_DASH = "—"
_ANY_CLAUSE_MARK = _CLAUSE_MARKS + _SPACED_DASHES + _EM_DASH
_CLOSERS = "\"')]}”’»*_`"  # may follow a sentence mark: `He said "yes." Then`, `**Done.** Next`
_OPENERS = "\"'([{“‘«*_"

# After these a period never ends a sentence: titles and address words come before a name or a number,
# month and day names before a date. A wrong cut costs more than a late one: the voice would drop its
# pitch at "Dr." and speakable() could no longer tell "Doctor Smith" from "Main Drive".
_NEVER_SENTENCE_END = frozenset(
    {
        "dr", "st", "mr", "mrs", "ms", "jr", "sr", "e.g", "i.e", "approx", "vs", "ext", "tel", "dept", "est",
        "ave", "blvd", "rd", "ste", "hwy", "ln", "pkwy", "mt", "ft", "appt", "min", "mins", "hr", "hrs",
        "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    }
)  # fmt: skip

# "7:30 a.m. Monday" or "9 a.m. Eastern" go on after the time; "7:30 a.m. Thanks" starts a new sentence.
_WORDS_CONTINUING_A_TIME = frozenset(
    {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
        "eastern", "central", "mountain", "pacific", "arizona", "standard", "daylight", "local", "time",
        "et", "ct", "mt", "pt", "est", "cst", "mst", "pst", "edt", "cdt", "mdt", "pdt",
    }
)  # fmt: skip
_LONGEST_CONTINUING_WORD = 12  # past this many letters the next word is not one of those; stop waiting

_MERIDIEM_WORD = re.compile(r"(?:\d{1,2}(?::\d\d)?)?[ap]\.m")  # "a.m", "7:30a.m" (final dot excluded)
_INITIALS = re.compile(r"[A-Za-z](?:\.[A-Za-z])*")  # "J", "U.S" (final dot excluded)
_RANGE_START = re.compile(r"(?:\d|[ap]\.?m\.?)\s*$", re.IGNORECASE)  # "8 am - 6 pm", "$79 - $99"


class _NeedMoreText:
    """A boundary that can only be judged once more of the reply has arrived (is "$79." a price?)."""


_NEED_MORE = _NeedMoreText()
# What a boundary check returns: where to cut (the chunk is buffer[:cut]), None for "no boundary here",
# or _NEED_MORE.
_Verdict = int | None | _NeedMoreText


class SentenceChunker:
    """Cuts a reply streamed in arbitrary pieces into chunks to speak one after the other.

    A chunk ends at a sentence end (. ! ? … followed by whitespace, or a line break), or at a clause boundary
    (", ", "; ", ": ", "—", " - ") once it holds ``first_min_chars`` characters for the first chunk of a reply
    (so the caller hears something quickly: "Yes," is a chunk) or ``min_chars`` for the others (so the voice
    does not stutter). A chunk that reaches ``max_chars`` without any boundary is cut at its last space.

    The first chunk of a reply also ends after ``first_max_words`` words when no boundary came before: at
    40 tokens a second a long opening clause ("On weekdays the service department is open from 7 AM...")
    would keep the caller waiting for its comma, and a brief pitch drop is better than silence. The cut is
    never right after a number or an abbreviation ("$189 | to $289" or "Dr. | Smith" would be read apart
    wrongly), and 0 turns it off.

    The chunks do not depend on how the text was split into deltas: a boundary whose verdict needs text that
    has not arrived yet (is the "." of "$79." a decimal point?) waits for it. ``flush()`` returns the rest
    and readies the chunker for the next reply.
    """

    def __init__(
        self, *, first_min_chars: int = 1, first_max_words: int = 6, min_chars: int = 60, max_chars: int = 250
    ) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        if first_max_words < 0:
            raise ValueError("first_max_words must be 0 (off) or more")
        self.first_min_chars = first_min_chars
        self.first_max_words = first_max_words
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._chunks_emitted = 0

    def feed(self, text_delta: str) -> list[str]:
        """Add the next piece of the reply; return the chunks it completed (often none)."""
        if not text_delta:
            return []
        self._buffer += text_delta
        return self._take_chunks(final=False)

    def flush(self) -> list[str]:
        """The reply is over: return what is left, as chunks, and start afresh for the next reply."""
        chunks = self._take_chunks(final=True)
        rest = self._buffer.strip()
        if rest:
            chunks.append(rest)
        self._buffer = ""
        self._chunks_emitted = 0
        return chunks

    def _take_chunks(self, *, final: bool) -> list[str]:
        chunks = []
        while True:
            # The buffer always starts a chunk; whitespace there would only be trimmed later.
            self._buffer = self._buffer.lstrip()
            first = self._chunks_emitted == 0
            cut = _find_cut(
                self._buffer,
                clause_min=self.first_min_chars if first else self.min_chars,
                max_words=self.first_max_words if first else 0,
                max_chars=self.max_chars,
                final=final,
            )
            if cut is None:
                return chunks
            chunk, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
            if chunk:
                chunks.append(chunk)
                self._chunks_emitted += 1


def _find_cut(buffer: str, *, clause_min: int, max_words: int, max_chars: int, final: bool) -> int | None:
    """Where the chunk at the start of ``buffer`` ends, or None while that is not known yet.

    ``max_words``: cut at the first safe word boundary after that many words (0: never).
    ``final``: nothing more will arrive, so checks that would wait see the end of the reply instead.
    """
    words = 0
    for index in range(len(buffer)):
        if index >= max_chars:
            return _cut_at_last_space(buffer, max_chars)
        verdict = _boundary_at(buffer, index, clause_min=clause_min, final=final)
        if verdict is _NEED_MORE:
            return None
        if verdict is not None:
            return verdict
        if max_words and buffer[index].isspace() and index and not buffer[index - 1].isspace():
            words += 1  # decided on whitespace already seen, so the cut is the same however the text arrives
            if words >= max_words and _may_cut_after(_word_before(buffer, index)[0]):
                return index
    return None


def _may_cut_after(word: str) -> bool:
    """Whether a chunk may end after ``word`` without a boundary mark (see SentenceChunker)."""
    bare = word.rstrip(_CLOSERS).rstrip(".").lower()
    if any(char.isdigit() or char == "$" for char in word) or "." in bare:
        return False  # "$189 | to $289" would be read as two prices, "7:30 | a.m." as a number and letters
    return bare not in _NEVER_SENTENCE_END and bare not in _LEADS_ON


# Articles, prepositions, conjunctions and possessives lead into the next word: a voice that stops after
# "the" or "from" sounds cut off, so a chunk cut by word count never ends on one.
_LEADS_ON = frozenset(
    {
        "a", "an", "the", "to", "and", "or", "but", "nor", "of", "at", "from", "for", "in", "on", "with", "by",
        "through", "about", "into", "onto", "per", "than", "as", "via", "my", "your", "our", "their", "his",
        "her", "its",
    }
)  # fmt: skip


def _boundary_at(buffer: str, index: int, *, clause_min: int, final: bool) -> _Verdict:
    char = buffer[index]
    if char in _LINE_BREAKS:
        return index
    if char in _SENTENCE_MARKS:
        return _sentence_end(buffer, index, final)
    if index + 1 < clause_min or char not in _ANY_CLAUSE_MARK or not _has_words(buffer, index):
        return None  # too short to cut at a clause; not worth waiting to judge it
    if char in _CLAUSE_MARKS:
        return _clause_end(buffer, index, final)
    if char == _EM_DASH:
        return index + 1
    return _spaced_dash_end(buffer, index, final)


def _sentence_end(buffer: str, mark: int, final: bool) -> _Verdict:
    if buffer[mark] in ".…" and buffer[mark + 1 : mark + 2] in (".", "…"):
        return None  # inside a run of dots: the last one decides
    cut = _skip_chars(buffer, mark + 1, _CLOSERS)
    if cut == len(buffer):
        return None if final else _NEED_MORE
    if not buffer[cut].isspace():
        return None  # "3.5", "$79.95", "e.g", "example.com", the "?" of "?!"
    if buffer[mark] in "!?":
        return cut
    return _period_end(buffer, mark, cut, final)


def _period_end(buffer: str, period: int, cut: int, final: bool) -> _Verdict:
    """Whether the period (or ellipsis) at ``period``, followed by whitespace from ``cut``, ends a sentence."""
    next_start = _skip_whitespace(buffer, cut)
    if any(char in _LINE_BREAKS for char in buffer[cut:next_start]):
        return cut
    if next_start == len(buffer):
        return None if final else _NEED_MORE
    following = buffer[next_start]
    if buffer[period] == "…" or buffer[period - 1 : period] == ".":
        return cut if following.isupper() else None  # an ellipsis trails off unless a new sentence starts
    if following.islower():
        return None  # "approx. two hours": an abbreviation, known or not
    word, word_start = _word_before(buffer, period)
    lowered = word.lower()
    if lowered in _NEVER_SENTENCE_END:
        return None
    if lowered == "no":
        return None if following.isdigit() or following == "#" else cut  # "No. 5" is a number; "No. Sorry" is an answer
    if _MERIDIEM_WORD.fullmatch(lowered):
        # "7 a.m. Monday": the dot may be the abbreviation's own. "2 PM. Saturday" has no such dot: it ends.
        return _end_after_time(buffer, next_start, cut, final)
    if _INITIALS.fullmatch(word) and word != "I":
        return None  # "J. R. Smith", "U.S. customers"
    if word.isdigit() and not buffer[:word_start].strip():
        return None  # "1. Oil change": a numbered list, not a sentence "1."
    return cut


def _end_after_time(buffer: str, next_start: int, cut: int, final: bool) -> _Verdict:
    end = next_start
    while end < len(buffer) and buffer[end].isalpha() and end - next_start < _LONGEST_CONTINUING_WORD:
        end += 1
    word_complete = end < len(buffer) or end - next_start == _LONGEST_CONTINUING_WORD
    if not word_complete and not final:
        return _NEED_MORE
    return None if buffer[next_start:end].lower() in _WORDS_CONTINUING_A_TIME else cut


def _has_words(buffer: str, end: int) -> bool:
    return any(char.isalnum() for char in buffer[:end])


def _clause_end(buffer: str, mark: int, final: bool) -> _Verdict:
    cut = _skip_chars(buffer, mark + 1, _CLOSERS)
    if cut == len(buffer):
        return None if final else _NEED_MORE
    return cut if buffer[cut].isspace() else None  # "1,250" and "7:30" are not clauses


def _spaced_dash_end(buffer: str, dash: int, final: bool) -> _Verdict:
    if dash + 1 == len(buffer):
        return None if final else _NEED_MORE
    if buffer[dash + 1] in _SPACED_DASHES:
        return None  # the last dash of "--" decides
    run_start = dash
    while run_start > 0 and buffer[run_start - 1] in _SPACED_DASHES:
        run_start -= 1
    if run_start == 0 or not buffer[run_start - 1].isspace() or not buffer[dash + 1].isspace():
        return None  # a hyphenated word, "5W-30", "8-6", or a bullet
    if _RANGE_START.search(buffer, 0, run_start):
        # "8 am - 6 pm" and "$79 - $99" are ranges; speakable() reads them as one.
        next_start = _skip_whitespace(buffer, dash + 1)
        if next_start == len(buffer):
            return None if final else _NEED_MORE
        if buffer[next_start].isdigit() or buffer[next_start] == "$":
            return None
    return dash + 1


def _cut_at_last_space(buffer: str, max_chars: int) -> int:
    last_space = max(buffer.rfind(" ", 0, max_chars + 1), buffer.rfind("\t", 0, max_chars + 1))
    return last_space if last_space > 0 else max_chars  # no space at all (a long URL): cut anyway


def _word_before(buffer: str, end: int) -> tuple[str, int]:
    """The word that ends at ``end`` (opening quotes and brackets dropped) and where it starts."""
    start = end
    while start > 0 and not buffer[start - 1].isspace():
        start -= 1
    while start < end and buffer[start] in _OPENERS:
        start += 1
    return buffer[start:end], start


def _skip_chars(buffer: str, index: int, chars: str) -> int:
    while index < len(buffer) and buffer[index] in chars:
        index += 1
    return index


def _skip_whitespace(buffer: str, index: int) -> int:
    while index < len(buffer) and buffer[index].isspace():
        index += 1
    return index


# =========================================================================== speakable text

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# Spelled-out text (a VIN, a phone number) is swapped for one private-use character until the end, so that
# no later rule can touch it: "8 2 K" must not become "8 2 thousand", nor "5 P M" a time.
_PLACEHOLDER_FIRST = 0xE000
_PLACEHOLDER_LAST = 0xF8FF
_PLACEHOLDER = re.compile("[\ue000-\uf8ff]")


@dataclass
class _Rewrite:
    """The state of one speakable() call: today's date and the spelled-out pieces set aside."""

    today: datetime.date
    set_aside: list[str] = field(default_factory=list)

    def protect(self, spoken: str) -> str:
        if _PLACEHOLDER_FIRST + len(self.set_aside) > _PLACEHOLDER_LAST:
            return spoken  # thousands of VINs in one chunk: let them be exposed rather than fail
        self.set_aside.append(spoken)
        return chr(_PLACEHOLDER_FIRST + len(self.set_aside) - 1)

    def restore(self, text: str) -> str:
        def original(match: re.Match) -> str:
            index = ord(match.group()) - _PLACEHOLDER_FIRST
            return self.set_aside[index] if index < len(self.set_aside) else ""

        return _PLACEHOLDER.sub(original, text)


def speakable(text: str, *, today: datetime.date | None = None) -> str:
    """``text`` (one chunk of the reply) as Aura should read it on the phone, in US English.

    ``today`` is the dealership's local date; a date in its year is said without the year. Never raises:
    a rule that fails is skipped and logged, the others still apply.
    """
    try:
        rewrite = _Rewrite(today=today or datetime.date.today())
        spoken = _sanitized(text)
        for rule in _rules(rewrite):
            spoken = _apply_safely(rule, spoken)
        return _apply_safely(rewrite.restore, spoken)
    except Exception:
        logger.exception("speakable() failed; speaking the text as written")
        try:
            return " ".join(str(text).split())
        except Exception:
            return ""


def _rules(rewrite: _Rewrite) -> list[Callable[[str], str]]:
    """In order: markup and addresses first (they hide digits), spelled-out codes before the number rules."""
    return [
        lambda text: _EMAIL.sub(lambda match: rewrite.protect(_spoken_email(match.group())), text),
        _links_and_urls_replaced,
        _without_markdown,
        lambda text: _VIN.sub(lambda match: _spelled_vin(match, rewrite), text),
        lambda text: _PHONE.sub(lambda match: _spelled_phone(match, rewrite), text),
        lambda text: _PRICE.sub(_spoken_price, text),
        lambda text: _THOUSANDS.sub(r"\g<number> thousand", text),
        lambda text: _ISO_DATE.sub(lambda match: _spoken_iso_date(match, rewrite.today), text),
        lambda text: _SLASH_DATE.sub(lambda match: _spoken_slash_date(match, rewrite.today), text),
        lambda text: _MONTH_DAY.sub(lambda match: _spoken_month_day(match, rewrite.today), text),
        lambda text: _TIME_RANGE.sub(_spoken_time_range, text),
        lambda text: _TIME_WITH_MERIDIEM.sub(_spoken_time_with_meridiem, text),
        lambda text: _CLOCK_TIME.sub(_spoken_clock_time, text),
        lambda text: _WEEKDAY_RANGE.sub(_spoken_weekday_range, text),
        lambda text: _NUMBER_RANGE.sub(_spoken_number_range, text),
        lambda text: _STREET_OR_TITLE.sub(_street_or_title, text),
        lambda text: _NUMBER_WITH_UNIT.sub(_spoken_number_with_unit, text),
        _expanded_abbreviations,
        _tidied,
    ]


def _apply_safely(rule: Callable[[str], str], text: str) -> str:
    try:
        return rule(text)
    except Exception:
        logger.exception("a speakable() rule failed; skipping it")
        return text


# --------------------------------------------------------------------------- input clean-up

_UNSPEAKABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # control characters
    "\ue000-\uf8ff"  # private use (our placeholders)
    "\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]"  # emoji: Aura would read their names or stumble
)


def _sanitized(text: object) -> str:
    if text is None:
        return ""
    return _UNSPEAKABLE.sub("", text if isinstance(text, str) else str(text))


# --------------------------------------------------------------------------- addresses and markdown

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,5}\.[A-Za-z]{2,24}\b")
_EMAIL_SYMBOLS = {".": " dot ", "_": " underscore ", "-": " dash ", "+": " plus "}
_MARKDOWN_LINK = re.compile(r"\[([^\[\]\n]{1,200})\]\([^()\s]{1,500}\)")
_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"'()\[\]]+"
    r"|\b(?:[A-Za-z0-9-]{1,63}\.){1,5}(?:com|org|net|us|io|co|biz|info|gov|edu|auto|cars)\b(?:/[^\s<>\"'()\[\]]*)?",
    re.IGNORECASE,
)
_OUR_WEBSITE_TWICE = re.compile(r"our website,?\s+(?:at|on)\s+our website")
_HORIZONTAL_RULE = re.compile(r"^[ \t]*(?:[-*_][ \t]*){3,}$", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*[-*+•][ \t]+", re.MULTILINE)
_BLOCKQUOTE = re.compile(r"^[ \t]*>[ \t]?", re.MULTILINE)
_EMPHASIS_UNDERSCORES = re.compile(r"(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])")  # "_this_", not "oil_change"


def _spoken_email(address: str) -> str:
    """ "service@example.com" -> "service at example dot com": a caller may need to write it down."""
    local, _, domain = address.partition("@")
    spell = str.maketrans(_EMAIL_SYMBOLS)
    return f"{local.translate(spell)} at {domain.translate(spell)}"


def _links_and_urls_replaced(text: str) -> str:
    """A URL is unspeakable on the phone; the caller hears "our website" (a link keeps its words)."""
    text = _MARKDOWN_LINK.sub(r"\1", text)
    text = _URL.sub(_our_website, text)
    return _OUR_WEBSITE_TWICE.sub("our website", text)


def _our_website(match: re.Match) -> str:
    url = match.group()
    sentence_punctuation = url[len(url.rstrip(".,;:!?")) :]  # "see example.com." keeps its period
    return "our website" + sentence_punctuation


def _without_markdown(text: str) -> str:
    """The model is told to write plain text; when it writes markdown anyway, Aura must not say "asterisk"."""
    text = _HORIZONTAL_RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    text = _BLOCKQUOTE.sub("", text)
    text = text.replace("`", "").replace("*", "")
    text = _EMPHASIS_UNDERSCORES.sub("", text)
    return text.replace("_", " ")


# --------------------------------------------------------------------------- VINs and phone numbers

_VIN = re.compile(r"(?<![A-Za-z0-9])[A-HJ-NPR-Z0-9]{17}(?![A-Za-z0-9])")
# 4-4-3-3-3: short groups a caller can repeat back, and the last two are the serial number (characters 12-17)
# that advisors quote on their own.
_VIN_GROUPS = (4, 4, 3, 3, 3)

_PHONE = re.compile(
    r"(?<![\w$.+/:-])"  # not the tail of a longer number, a price or a code
    r"(?:\+?1[ \t.-]?)?"  # the country code, not spoken: the caller is in the US
    r"(?:\((?P<area_in_parentheses>\d{3})\)[ \t.-]?|(?P<area>\d{3})[ \t.-]?)"
    r"(?P<exchange>\d{3})[ \t.-]?"
    r"(?P<line>\d{4})"
    r"(?:[ \t]*,?[ \t]*(?:ext\.?|extension|x)[ \t]*(?P<extension>\d{1,6}))?"
    r"(?![\w-]|\.\d)",
    re.IGNORECASE,
)


def _spelled_vin(match: re.Match, rewrite: _Rewrite) -> str:
    vin = match.group()
    if not (any(char.isdigit() for char in vin) and any(char.isalpha() for char in vin)):
        return vin  # seventeen digits, or a word in capitals: not a VIN
    groups, start = [], 0
    for size in _VIN_GROUPS:
        groups.append(" ".join(vin[start : start + size]))
        start += size
    return rewrite.protect(", ".join(groups))


def _spelled_phone(match: re.Match, rewrite: _Rewrite) -> str:
    area = match["area_in_parentheses"] or match["area"]
    if area[0] in "01" or match["exchange"][0] in "01":
        return match.group()  # not a North American number; likely another figure
    # Digit by digit, a comma between groups so the voice pauses where a person would.
    spoken = ", ".join(" ".join(group) for group in (area, match["exchange"], match["line"]))
    if match["extension"]:
        spoken += f", extension {match['extension']}"
    return rewrite.protect(spoken)


# --------------------------------------------------------------------------- money and mileage

_AMOUNT = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_PRICE = re.compile(
    rf"\$[ \t]?(?P<first>{_AMOUNT})(?P<first_k>[kK](?![A-Za-z]))?"
    rf"(?:[ \t]*(?:-|–|—|\bto\b)[ \t]*\$?[ \t]?(?P<second>{_AMOUNT})(?P<second_k>[kK](?![A-Za-z]))?)?"
    r"(?:[ \t]+(?P<scale>thousand|million|billion)\b)?"
)
_THOUSANDS = re.compile(r"(?<![\w.])(?P<number>\d+(?:\.\d+)?)[kK]\b")  # "30k miles", "30K service"


def _spoken_price(match: re.Match) -> str:
    """ "$79.95" -> "79 dollars and 95 cents"; "$79-$99" -> "79 to 99 dollars"; "$2k" -> "2 thousand dollars"."""
    first, second = match["first"], match["second"]
    first_scale = "thousand" if match["first_k"] else ""
    if not second:
        return _money_words(first, first_scale or match["scale"] or "")
    second_scale = "thousand" if match["second_k"] else match["scale"] or ""
    if not first_scale and second_scale and _value(first) < _value(second):
        first_scale = second_scale  # "$2-3k" is two to three thousand; "$500-2k" is not
    if _is_whole(first) and _is_whole(second) and first_scale == second_scale:
        scale = f" {first_scale}" if first_scale else ""
        return f"{_whole_part(first)} to {_whole_part(second)}{scale} dollars"
    return f"{_money_words(first, first_scale)} to {_money_words(second, second_scale)}"


def _money_words(amount: str, scale: str = "") -> str:
    whole, _, fraction = amount.partition(".")
    if scale or len(fraction) > 2:
        return " ".join(part for part in (amount, scale, "dollars") if part)  # "1.5 thousand dollars"
    dollars = int(whole.replace(",", "") or 0)
    cents = int(fraction.ljust(2, "0")) if fraction else 0
    parts = []
    if dollars or not cents:
        parts.append(f"{whole or 0} {'dollar' if dollars == 1 else 'dollars'}")
    if cents:
        parts.append(f"{cents} {'cent' if cents == 1 else 'cents'}")
    return " and ".join(parts)


def _is_whole(amount: str) -> bool:
    whole, _, fraction = amount.partition(".")
    return bool(whole) and not fraction.strip("0")


def _value(amount: str) -> float:
    return float(amount.replace(",", ""))


def _whole_part(amount: str) -> str:
    return amount.partition(".")[0]


# --------------------------------------------------------------------------- dates

_MONTH_NUMBERS = {name.lower(): number for number, name in enumerate(_MONTHS, start=1)} | {
    name.lower()[:3]: number for number, name in enumerate(_MONTHS, start=1)
}
_MONTH_NUMBERS["sept"] = 9
_MONTH_NAME = "|".join(sorted((name.capitalize() for name in _MONTH_NUMBERS), key=len, reverse=True))
_ISO_DATE = re.compile(
    r"(?<![\w/.-])(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:(?P<time_follows>T)(?=\d{1,2}:\d{2})|(?![\w/-]|\.\d))"
)
_SLASH_DATE = re.compile(
    r"(?<![\w/.$:-])(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{4}|\d{2}))?(?![\w/]|[.,]\d)"
)
_MONTH_DAY = re.compile(
    rf"\b(?P<month>{_MONTH_NAME})\.?[ \t]+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?![\w:])"
    r"(?:,?[ \t]+(?P<year>\d{4})(?!\d))?"
)
# "1/2 hour" or "3/4 of a tank" are fractions, not January 2nd or March 4th.
_FRACTION_FOLLOWERS = re.compile(
    r"[ \t]+(?:of|an?|hour|hr|mile|mi|inch|in|tank|gallon|gal|quart|qt|cup|price|off|lb|pound)s?\b",
    re.IGNORECASE,
)


def _spoken_iso_date(match: re.Match, today: datetime.date) -> str:
    """ "2026-11-24" -> "Tuesday, November 24th": a machine date, so the weekday helps the caller."""
    words = _date_words(int(match["month"]), int(match["day"]), int(match["year"]), today, weekday=True)
    if words is None:
        return match.group()
    return words + (" at " if match["time_follows"] else "")


def _spoken_slash_date(match: re.Match, today: datetime.date) -> str:
    """ "11/24" and "11/24/2026" -> "November 24th" (US order: month first)."""
    month, day = int(match["month"]), int(match["day"])
    year = match["year"]
    if not year and _looks_like_fraction(match, numerator=month, denominator=day):
        return match.group()
    full_year = (2000 + int(year) if len(year) == 2 else int(year)) if year else None
    words = _date_words(month, day, full_year, today)
    return match.group() if words is None else words


def _looks_like_fraction(match: re.Match, *, numerator: int, denominator: int) -> bool:
    if numerator >= denominator or denominator not in (2, 3, 4, 8, 16):
        return False
    text = match.string
    after_a_whole_number = re.search(r"\d[ \t]+$", text[max(0, match.start() - 10) : match.start()])  # "1 1/2"
    return bool(_FRACTION_FOLLOWERS.match(text, match.end()) or after_a_whole_number)


def _spoken_month_day(match: re.Match, today: datetime.date) -> str:
    """ "Nov 24" -> "November 24th"."""
    year = int(match["year"]) if match["year"] else None
    words = _date_words(_MONTH_NUMBERS[match["month"].lower()], int(match["day"]), year, today)
    return match.group() if words is None else words


def _date_words(month: int, day: int, year: int | None, today: datetime.date, *, weekday: bool = False) -> str | None:
    """ "November 24th" (", 2027" when not this year), None when there is no such date."""
    try:
        date = datetime.date(year or 2000, month, day)  # 2000 was a leap year: "2/29" alone is a date
    except ValueError:
        return None
    words = f"{_MONTHS[month - 1]} {_ordinal(day)}"
    if weekday and year:
        words = f"{_WEEKDAYS[date.weekday()]}, {words}"
    if year and year != today.year:
        words += f", {year}"
    return words


def _ordinal(number: int) -> str:
    suffix = "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# --------------------------------------------------------------------------- times

# "AM", "am", "a.m.", "a.m", "a. m."; only the dotted forms take a period that may also end the sentence.
_MERIDIEM = r"[AaPp](?:\.[ \t]?[Mm]\.?|[Mm])(?![A-Za-z])"


def _clock_pattern(suffix: str, *, meridiem_required: bool) -> str:
    meridiem = rf"[ \t]*(?P<meridiem{suffix}>{_MERIDIEM})"
    return (
        rf"(?P<hour{suffix}>\d{{1,2}})(?::(?P<minute{suffix}>[0-5]\d))?"
        + (meridiem if meridiem_required else f"(?:{meridiem})?")
    )


_NOT_AFTER_A_NUMBER = r"(?<![\w:.$/])"
_TIME_RANGE = re.compile(
    _NOT_AFTER_A_NUMBER
    + _clock_pattern("1", meridiem_required=False)
    + r"[ \t]*(?:-|–|—|\bto\b)[ \t]*"
    + _clock_pattern("2", meridiem_required=False)
    + r"(?![\w:])"
)
_TIME_WITH_MERIDIEM = re.compile(_NOT_AFTER_A_NUMBER + _clock_pattern("", meridiem_required=True))
_CLOCK_TIME = re.compile(_NOT_AFTER_A_NUMBER + r"(?P<hour>\d{1,2}):(?P<minute>[0-5]\d)(?::[0-5]\d)?(?![\w:]|[.,]\d)")


@dataclass(frozen=True)
class _Clock:
    hour: int  # 1-12 with a meridiem, else as written
    minute: int
    meridiem: str | None  # "AM", "PM", or None when the text does not say

    def words(self, *, oclock: bool = True) -> str:
        """ "7 30 AM", "7 AM", "7 oh 5 AM", "noon", "midnight"; "7 30" or "7 o'clock" when AM/PM is unknown.

        Written the way a person says a time, so Aura has no colon, no ":00" and no "a.m." to interpret.
        """
        if self.meridiem and self.hour == 12 and self.minute == 0:
            return "noon" if self.meridiem == "PM" else "midnight"
        if self.minute == 0:
            hour = f"{self.hour} o'clock" if oclock and not self.meridiem else str(self.hour)
        elif self.minute < 10:
            hour = f"{self.hour} oh {self.minute}"
        else:
            hour = f"{self.hour} {self.minute}"
        return f"{hour} {self.meridiem}" if self.meridiem else hour


def _clock(hour: int, minute: int, meridiem_text: str | None, *, hour_text: str = "") -> _Clock | None:
    """The time a match means, or None for "25:00" and the like.

    Without AM/PM, a 24-hour time ("14:00", "07:30", "00:15") gets one; "7:30" and "6:00" stay without,
    because a service desk says "we close at 6:00" and means the evening.
    """
    if hour > 23 or minute > 59:
        return None
    if meridiem_text and 1 <= hour <= 12:
        return _Clock(hour, minute, "AM" if meridiem_text[0] in "Aa" else "PM")
    if meridiem_text or hour >= 13 or hour == 0 or hour_text.startswith("0") or (hour == 12 and hour_text):
        return _Clock(hour % 12 or 12, minute, "AM" if hour < 12 else "PM")
    return _Clock(hour, minute, None)


def _spoken_time_with_meridiem(match: re.Match) -> str:
    clock = _clock(int(match["hour"]), int(match["minute"] or 0), match["meridiem"])
    if clock is None:
        return match.group()
    return clock.words() + _sentence_period_after_dotted(match, match["meridiem"])


def _spoken_clock_time(match: re.Match) -> str:
    clock = _clock(int(match["hour"]), int(match["minute"]), None, hour_text=match["hour"])
    return match.group() if clock is None else clock.words()


def _spoken_time_range(match: re.Match) -> str:
    """ "8am-6pm" -> "8 AM to 6 PM", "1-3pm" -> "1 to 3 PM", "14:00-18:00" -> "2 to 6 PM"."""
    first_meridiem, second_meridiem = match["meridiem1"], match["meridiem2"]
    if not (first_meridiem or second_meridiem or match["minute1"] or match["minute2"]):
        return match.group()  # "8-6": a plain number range, read by the number-range rule
    first = _clock(int(match["hour1"]), int(match["minute1"] or 0), first_meridiem, hour_text=_colon_hour(match, "1"))
    second = _clock(int(match["hour2"]), int(match["minute2"] or 0), second_meridiem, hour_text=_colon_hour(match, "2"))
    if first is None or second is None:
        return match.group()
    if first_meridiem and not second_meridiem:
        second = _with_meridiem_inferred(second, known=first, known_is_first=True)
    elif second_meridiem and not first_meridiem:
        first = _with_meridiem_inferred(first, known=second, known_is_first=False)
    ending = _sentence_period_after_dotted(match, second_meridiem or "")
    if first.meridiem and first.meridiem == second.meridiem and not first_meridiem:
        first = _Clock(first.hour, first.minute, None)  # said once, at the end, as written: "1 to 3 PM"
    return f"{first.words(oclock=False)} to {second.words(oclock=False)}{ending}"


def _colon_hour(match: re.Match, suffix: str) -> str:
    """The hour as written when it has minutes: "07" in "07:30" marks a 24-hour clock; "8" in "8-6pm" does not."""
    return match[f"hour{suffix}"] if match[f"minute{suffix}"] else ""


def _with_meridiem_inferred(clock: _Clock, *, known: _Clock, known_is_first: bool) -> _Clock:
    """The side of a range written without AM/PM: "8-6pm" is 8 AM, "1-3pm" is 1 PM, "9am-5" is 5 PM."""
    if clock.meridiem:
        return clock  # a 24-hour time already says which
    start, end = (known, clock) if known_is_first else (clock, known)
    same_half_of_day = (start.hour % 12, start.minute) <= (end.hour % 12, end.minute)
    meridiem = known.meridiem if same_half_of_day else ("PM" if known.meridiem == "AM" else "AM")
    return _Clock(clock.hour, clock.minute, meridiem)


def _sentence_period_after_dotted(match: re.Match, meridiem: str) -> str:
    """ "at 7 a.m." ends with the abbreviation's period, which also ended the sentence: keep one.

    Not in "9 a.m. Eastern" or "7 a.m. Monday", where the sentence goes on.
    """
    if not meridiem.endswith("."):
        return ""
    next_word = _NEXT_WORD.match(match.string, match.end())
    if next_word and next_word[1].lower() in _WORDS_CONTINUING_A_TIME:
        return ""
    return _sentence_period(match.string, match.end())


_NEXT_WORD = re.compile(r"\s+([A-Za-z]{1,12})")


_SENTENCE_ENDS_HERE = re.compile(r"[\"')\]”’]*\s*$|\s+[A-Z]")


def _sentence_period(text: str, end: int) -> str:
    """ "." when the abbreviation just replaced (ending at ``end``) also ended its sentence."""
    return "." if _SENTENCE_ENDS_HERE.match(text, end) else ""


# --------------------------------------------------------------------------- ranges

_WEEKDAY_NUMBERS = {name.lower(): index for index, name in enumerate(_WEEKDAYS)} | {
    "mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4, "sat": 5, "sun": 6,
}  # fmt: skip
# Capitalised or in capitals only: "we sat through sun" is no range.
_WEEKDAY_NAME = "|".join(
    sorted({form for name in _WEEKDAY_NUMBERS for form in (name.capitalize(), name.upper())}, key=len, reverse=True)
)
_WEEKDAY_RANGE = re.compile(
    rf"\b(?P<first>{_WEEKDAY_NAME})\.?[ \t]?(?:-|–|—|\bto\b|\bthrough\b|\bthru\b)[ \t]?(?P<last>{_WEEKDAY_NAME})\b"
    r"|\bM-F\b"
)
# "2-3 hours" -> "2 to 3 hours", "2019-2021"; not "12345-67890" (a part number) or "5W-30".
_NUMBER_RANGE = re.compile(
    r"(?<![\w.,/$:#-])(?P<low>\d{1,4})[ \t]?[-–][ \t]?(?P<high>\d{1,4})(?![\w/]|[.,:]\d|[-–]\w)"
)


def _spoken_weekday_range(match: re.Match) -> str:
    if match.group() == "M-F":
        return "Monday to Friday"
    first, last = (_WEEKDAYS[_WEEKDAY_NUMBERS[match[name].lower()]] for name in ("first", "last"))
    return f"{first} to {last}"


def _spoken_number_range(match: re.Match) -> str:
    low, high = int(match["low"]), int(match["high"])
    if low < high or (low <= 12 and high <= 12):  # hours of a day read "8 to 6" too
        return f"{match['low']} to {match['high']}"
    return match.group()


# --------------------------------------------------------------------------- abbreviations and symbols

_STREET_OR_TITLE = re.compile(r"\b(?P<abbreviation>Dr|St)\b(?P<period>\.)?")
_STREET_OR_TITLE_WORDS = {"Dr": ("Drive", "Doctor"), "St": ("Street", "Saint")}
_HOUSE_NUMBER_BEFORE = re.compile(r"\b\d+[A-Za-z]?(?:[ \t]+[A-Z0-9][\w'-]*){1,3}[ \t]*$")  # "123 Main "
_STREET_NAME_WORD = re.compile(r"[A-Z][A-Za-z'-]*|\d+(?:st|nd|rd|th)")  # "Main", "5th"
_CONTEXT_CHARS = 60  # look this far around an abbreviation; keeps long inputs linear

_NUMBER_WITH_UNIT = re.compile(r"(?<![\d.])(?P<number>\d+(?:\.\d+)?)[ \t]?(?P<unit>mins?|hrs?|mi)\b(?P<period>\.)?")
_UNIT_WORDS = {"min": "minute", "mins": "minute", "hr": "hour", "hrs": "hour", "mi": "mile"}


@dataclass(frozen=True)
class _Expansion:
    pattern: re.Pattern
    words: str
    # The abbreviation's period may also end the sentence ("and so on etc."): keep a period then.
    may_end_sentence: bool = False


def _expansion(pattern: str, words: str, *, flags: int = 0, may_end_sentence: bool = False) -> _Expansion:
    return _Expansion(re.compile(pattern, flags), words, may_end_sentence)


_EXPANSIONS = (
    _expansion(r"\b[Aa]pprox\b\.?", "approximately"),
    _expansion(r"\b[Aa]ppts\b\.?", "appointments"),
    _expansion(r"\b[Aa]ppt\b\.?", "appointment"),
    _expansion(r"\bmins\b(?P<period>\.)?", "minutes", may_end_sentence=True),
    _expansion(r"\bhrs\b(?P<period>\.)?", "hours", may_end_sentence=True),
    _expansion(r"\bmph\b", "miles per hour", flags=re.IGNORECASE),
    _expansion(r"\bmpg\b", "miles per gallon", flags=re.IGNORECASE),
    _expansion(r"\be\.[ \t]?g\.?(?![A-Za-z])", "for example"),  # lower case only: "E. G. Smith" is a name
    _expansion(r"\bi\.[ \t]?e\.?(?![A-Za-z])", "that is"),
    _expansion(r"\b[Ee]tc\b(?P<period>\.)?", "and so on", may_end_sentence=True),
    _expansion(r"\b[Vv]s\b\.?", "versus"),
    _expansion(r"\b[Aa]/[Cc]\b|\bAC\b", "A C"),
    _expansion(r"\b24/7\b", "24 7"),
    _expansion(r"\bEVs\b", "E Vs"),
    _expansion(r"\bEV\b", "E V"),
    _expansion(r"\bOEMs\b", "O E Ms"),
    _expansion(r"\bOEM\b", "O E M"),
    _expansion(r"\bASAP\b", "as soon as possible", flags=re.IGNORECASE),
    _expansion(r"\bMrs\.", "Missus"),
    _expansion(r"\bMr\.", "Mister"),
    _expansion(r"\bMs\.", "Miz"),
    _expansion(r"\bJr\b(?P<period>\.)?", "Junior", may_end_sentence=True),
    _expansion(r"\bSr\b(?P<period>\.)?", "Senior", may_end_sentence=True),
    _expansion(r"\bAve\b(?P<period>\.)?", "Avenue", may_end_sentence=True),
    _expansion(r"\bBlvd\b(?P<period>\.)?", "Boulevard", may_end_sentence=True),
    _expansion(r"\bRd\b(?P<period>\.)?", "Road", may_end_sentence=True),
    _expansion(r"\bHwy\b(?P<period>\.)?", "Highway", may_end_sentence=True),
    _expansion(r"\bLn\b(?P<period>\.)?", "Lane", may_end_sentence=True),
    _expansion(r"\bPkwy\b(?P<period>\.)?", "Parkway", may_end_sentence=True),
    _expansion(r"\bSte\b\.?", "Suite"),
    _expansion(r"\b[Ww]/[Oo]\b", "without"),
    _expansion(r"\b[Ww]/[ \t]?", "with "),
    _expansion(r"&(?:amp;)?", " and "),
    _expansion(r"(?<=\d)[ \t]?%", " percent"),
    _expansion(r"#[ \t]?(?=\d)", "number "),
    _expansion(r"\b[Nn]o\.[ \t]?(?=\d)", "number "),
    _expansion(r"~[ \t]?(?=\d)", "about "),
    _expansion(r"@", " at "),
    _expansion(r"#", ""),  # a "#" left over would be read "hash" or "pound"
)


def _street_or_title(match: re.Match) -> str:
    """ "123 Main Dr." -> "123 Main Drive", "Dr. Smith" -> "Doctor Smith"; "St." -> "Street" / "Saint"."""
    street, title = _STREET_OR_TITLE_WORDS[match["abbreviation"]]
    text = match.string
    before = text[max(0, match.start() - _CONTEXT_CHARS) : match.start()]
    after = text[match.end() : match.end() + _CONTEXT_CHARS]
    if not _names_a_street(before, after):
        return title
    return street + (_sentence_period(text, match.end()) if match["period"] else "")


def _names_a_street(before: str, after: str) -> bool:
    if _HOUSE_NUMBER_BEFORE.search(before):
        return True
    previous_words, following_words = before.split(), after.split()
    follows_a_name = bool(previous_words) and bool(_STREET_NAME_WORD.fullmatch(previous_words[-1]))
    precedes_a_name = bool(following_words) and following_words[0][:1].isupper()
    return follows_a_name and not precedes_a_name  # "on Oak Dr. near the mall", but "Tell Dr. Smith"


def _spoken_number_with_unit(match: re.Match) -> str:
    """ "30 mins" -> "30 minutes", "1 hr" -> "1 hour", "5 mi." -> "5 miles"."""
    unit = _UNIT_WORDS[match["unit"]]
    if match["number"] != "1":
        unit += "s"
    period = _sentence_period(match.string, match.end()) if match["period"] else ""
    return f"{match['number']} {unit}{period}"


def _expanded_abbreviations(text: str) -> str:
    for expansion in _EXPANSIONS:
        text = expansion.pattern.sub(lambda match, expansion=expansion: _expanded(match, expansion), text)
    return text


def _expanded(match: re.Match, expansion: _Expansion) -> str:
    words = expansion.words
    written = match.group().strip()
    if written[:1].isupper() and not written.isupper() and words[:1].islower():
        words = words[0].upper() + words[1:]  # "Approx. 2 hours" -> "Approximately 2 hours"
    if expansion.may_end_sentence and match.groupdict().get("period"):
        words += _sentence_period(match.string, match.end())
    return words


# --------------------------------------------------------------------------- whitespace

_LINE_BREAKS_IN_TEXT = re.compile(r"[\r\n]+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[,.;:!?])")
# Ranges are words by now ("8 to 6"), so a spaced hyphen left is a pause in a sentence ("Great - see you");
# a comma makes the pause without risking "dash" or "minus".
_SPACED_HYPHEN = re.compile(r" [-–]{1,2}(?= |$)")
_REPEATED_COMMAS = re.compile(r",(?: ?,)+")


def _tidied(text: str) -> str:
    text = _joined_lines(text)
    text = " ".join(text.split())
    text = _SPACED_HYPHEN.sub(",", text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", text)
    return _REPEATED_COMMAS.sub(",", text).strip()


def _joined_lines(text: str) -> str:
    """A line that ends without punctuation (a list item, a heading) still gets a pause after it."""
    joined = ""
    for line in _LINE_BREAKS_IN_TEXT.split(text):
        line = line.strip()
        if not line:
            continue
        if joined:
            ends_in_words = joined[-1].isalnum() or _PLACEHOLDER.match(joined[-1])  # a phone number is words too
            joined += ". " if ends_in_words else " "
        joined += line
    return joined
