"""Dates and times as callers say them, read into the dealership's own calendar.

``understand_when(text, today=...)`` reads one caller utterance, as Deepgram's smart formatting writes it, and
returns a ``TimeRequest``: which days, and when in the day. Pure: standard library only, no clock, no database.
Case and punctuation do not matter; "a.m.", "o'clock", "3-ish", "45,000" and number words are understood.

Days (a single day is first_day == last_day)
- "today", "later today", "tonight", "this morning/afternoon/evening" are today; "tomorrow"; "the day after
  tomorrow"; "in 3 days" / "3 days from now" is that single day.
- A weekday alone, "this <weekday>", "anything Saturday": its next occurrence strictly after today.
- "next <weekday>": that weekday in next calendar week (weeks start Monday): said on Thursday 2026-12-03,
  "next Tuesday" is 2026-12-08; said on Monday 2026-12-07 it is 2026-12-15.
- "a week from <weekday>", "<weekday> after next": the weekday as read above, plus 7 days ("two weeks from
  Monday": plus 14). "a week from today/tomorrow" is that single day.
- "the 14th", "on the 2nd", "on the 14": the next such day of month on or after today (months without it are
  skipped). "December 14th", "Dec 14", "14th of December", "12/14" (US month/day): the next such date on or
  after today; a year, when said, is kept. An impossible date ("February 30th") gives unclear="no_such_date".
- "<weekday> the 14th": the date, if it falls on that weekday; otherwise unclear="weekday_mismatch". "next
  month" and month-long ranges are not read.
- Ranges: "this week" today..Sunday; "next week" Monday..Sunday of next week; "the week after next";
  "in two weeks" / "two weeks from now" the calendar week holding today+14 (never before today); "this
  weekend" the coming Saturday..Sunday; "next weekend" Saturday..Sunday of next week; "end of the week"
  Friday..Saturday of this week (the shop opens Saturdays; never before today; said on a Sunday, next week's);
  "end of next week" Friday..Saturday; "early next week" Monday..Tuesday. A weekday said with a range is that
  weekday inside it ("next week on Tuesday").
- Two different days ("Tuesday or Wednesday") give unclear="two_days". Only past days ("yesterday", "last
  Monday", "last week", "earlier today") give unclear="past"; said beside a coming day they are ignored.
  Whenever unclear is about days, first_day and last_day are None.

Times
- A clock needs a cue, so that stray numbers (mileage, model years, plates, phone numbers, "2 cars") are not
  times: "at/around/about/by/say N", "N o'clock", "N:MM", "N am/pm", "N-ish", "noon", "midday", spoken forms
  ("two thirty", "half past two", "quarter past ten", "quarter to three"), or a lone hour that is the whole
  utterance apart from filler words ("how about 3?", "Tuesday 2", "2 works for me").
- Which half of the day: "am"/"pm" or "in the morning/afternoon/evening", "at night", "tonight" right after the
  clock; else the utterance's part of the day ("this evening at 7" is 19:00, "tomorrow morning at 6" 6:00);
  else the shop's hours: 1-6 PM, 7-11 AM, 12 noon. "14:00" is a 24-hour clock. Two different clocks: the first,
  with unclear="two_times".
- Parts of the day: "morning", "afternoon", "evening" / "night" / "tonight". Two different parts named ("morning
  or afternoon") mean no preference (""). Greetings ("good morning") are not requests.
- "after lunch" is after 13:00, "before lunch" before 12:00, "lunchtime" / "around lunch" after 11:30 and
  before 13:30 with no clock; "after work" after 17:00. "after N", "later than N", "not until N" set after;
  "before N", "no later than N", "until N" set before; "between N and M" / "from N to M" set both.
- "as early as possible", "as soon as possible", "asap", "soonest", "earliest", "first available", "next
  available", "right away" and "first thing" set earliest ("first thing" also means the morning). With no day
  said, first_day is today and last_day None: the dialogue looks ahead itself.

Nothing about time gives TimeRequest(). Never raises: an input that cannot be read gives TimeRequest().
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field

_ONE_DAY = datetime.timedelta(days=1)
Raw = tuple[int, int, str]  # a clock as said: hour, minute, "am" | "pm" | "" (not said)


@dataclass(frozen=True)
class TimeRequest:
    """What a caller asked for, in the dealership's own calendar: which days, and when in the day."""

    first_day: datetime.date | None = None  # inclusive range of days asked for; None when no day was said
    last_day: datetime.date | None = None
    clock: datetime.time | None = None  # an exact time ("at 2" -> 14:00, "10:30" -> 10:30)
    part_of_day: str = ""  # "morning" | "afternoon" | "evening" | ""
    after: datetime.time | None = None  # "after lunch" -> 13:00, "after 3" -> 15:00
    before: datetime.time | None = None  # "before noon" -> 12:00, "before 10" -> 10:00
    earliest: bool = False  # "as early as possible", "soonest", "first available", "asap", "first thing"
    unclear: str = ""  # "" or a code: no_such_date, weekday_mismatch, two_days, past, two_times

    @property
    def said_anything(self) -> bool:
        """Whether any day, clock, part of the day, bound or "earliest" was read (unclear alone does not count)."""
        times = (self.first_day, self.clock, self.after, self.before)
        return any(value is not None for value in times) or bool(self.part_of_day) or self.earliest


# --- Vocabulary -------------------------------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_NUMBER_WORDS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
_ORDINAL_WORDS = {
    word: number
    for number, word in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth"
        " fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split(),
        start=1,
    )
}
_ORDINAL_WORDS.update({f"twenty {word}": 20 + n for word, n in list(_ORDINAL_WORDS.items())[:9]})
_ORDINAL_WORDS.update({"thirtieth": 30, "thirty first": 31})
_PART_NAMES = {"morning": "morning", "afternoon": "afternoon", "evening": "evening", "night": "evening",
               "tonight": "evening"}  # fmt: skip
# Words that are not part of a time when a lone number is the whole utterance ("yeah, how about 3?").
_FILLER_WORDS = frozenset(
    "um umm uh uhh uhm er erm hmm hm mm mhm oh ah yeah yes yep yup ok okay so well like maybe how about what say"
    " let's lets do please sure perhaps works work would will be good great fine perfect is it it's that's thats"
    " i i'd i'll guess then just can could we you try go with probably actually hey alright right sounds".split()
)


def _alternatives(words) -> str:
    """A regex alternation of words, longest first, so that "sept" is tried before "sep"."""
    return "|".join(sorted(words, key=len, reverse=True))


_WD = rf"(?P<wd>{_alternatives(WEEKDAYS)})s?"  # "tuesday", "tuesdays"
_MONTH = rf"(?P<month>{_alternatives(_MONTHS)})"
# Words after a number that make it a quantity, not a clock ("at 1 point", "about 3 weeks", "by 2 cars").
_UNITS = (r"(?:miles?|mi|k|thousand|hundred|cars?|vehicles?|trucks?|years?|yrs?|months?|weeks?|days?|hours?"
          r"|hrs?|minutes?|mins?|dollars?|bucks|percent|people|of|point|times?|tires?|wheels?|doors?|kids)")
# Words after "the 2nd" or "the first" that make it a rank, not a day ("the 2nd car", "the first available").
_NOT_A_DAY = (r"(?! (?:available|thing|opening|open|car|vehicle|truck|one|time|option|appointment|visit|slot|spot"
              r"|floor|shift|week)s?\b)")


def _time_token(name: str) -> str:
    """A clock after a cue: "3", "3:30", "3 pm", "3:30pm", "noon", with "o'clock" or "-ish" allowed after."""
    return (rf"(?P<{name}>noon|midday|\d\d?(?::\d\d)?(?: ?[ap]m)?)(?: oclock| ?ish)?"
            rf"(?![\w:/])(?! {_UNITS}\b)")  # fmt: skip


# --- Normalizing: lower case, plain words, spoken numbers as digits ---------------------------------------

_AM_PM_DOTTED = re.compile(r"(?<![a-z])([ap])\. ?m(?![a-z])\.?")  # "a.m.", "p. m." -> "am", "pm"
_THOUSANDS = re.compile(r"(?<=\d),(?=\d\d\d\b)")  # "45,000" -> "45000"
_NOT_WORD = re.compile(r"[^a-z0-9:/']+")  # everything else ("-", ".", "?", ",") becomes a space


def _ordinal_word(match: re.Match) -> str:
    return f"{match['lead']} {_ORDINAL_WORDS[match['word']]}th"


def _word_minutes(match: re.Match) -> str:
    """ "2 thirty" -> "2:30", "10 forty 5" -> "10:45", "9 oh 5" -> "9:05" (hours already digits)."""
    hour = int(match["hour"])
    if match["oh"]:
        minute = int(match["oh"])
    elif match["fifteen"]:
        minute = 15
    else:
        minute = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}[match["tens"]] + int(match["unit"] or 0)
    return f"{hour}:{minute:02d}" if 1 <= hour <= 12 else match[0]


def _quarter_to(match: re.Match) -> str:
    """ "quarter to 3" -> "2:45"; "quarter to 1" -> "12:45"."""
    hour = int(match[1])
    return f"{hour - 1 or 12}:45" if 1 <= hour <= 12 else match[0]


_REWRITES = (
    (re.compile(r"\bo'? ?clock\b"), "oclock"),  # "o'clock", "o clock"
    (re.compile(r"\b12 noon\b"), "noon"),
    (re.compile(r"\bgood (?:morning|afternoon|evening|night)\b"), " "),  # greetings ask for nothing
    # "the fourteenth", "december first", "monday the twenty first" -> "... 14th"; not "the first available"
    (re.compile(rf"\b(?P<lead>the|{_alternatives(_MONTHS)}|{_alternatives(WEEKDAYS)}) "
                rf"(?P<word>{_alternatives(_ORDINAL_WORDS)})\b{_NOT_A_DAY}"), _ordinal_word),
    (re.compile(rf"\b({_alternatives(WEEKDAYS)}) (\d\d?(?:st|nd|rd|th))\b"), r"\1 the \2"),  # "monday 14th"
    (re.compile(rf"\b(?:{_alternatives(_NUMBER_WORDS)})\b"), lambda m: str(_NUMBER_WORDS.index(m[0]) + 1)),
    (re.compile(r"\ba couple(?: of)?\b"), "2"),  # "in a couple of days"
    (re.compile(r"\b(?P<hour>\d\d?) (?:(?P<fifteen>fifteen)|(?P<tens>twenty|thirty|forty|fifty)(?: (?P<unit>[1-9]))?"
                r"|oh (?P<oh>[1-9]))\b"), _word_minutes),
    (re.compile(r"\bhalf (?:past|after) (\d\d?)\b"), r"\1:30"),
    (re.compile(r"\b(?:a )?quarter (?:past|after) (\d\d?)\b"), r"\1:15"),
    (re.compile(r"\b(?:a )?quarter (?:to|till|til|of|before) (\d\d?)\b"), _quarter_to),
    # "9 in the morning" -> "9 am in the morning"; "7 at night" -> "7 pm at night"
    (re.compile(r"\b(\d\d?(?::\d\d)?)(?: oclock)? (?=in the morning\b)"), r"\1 am "),
    (re.compile(r"\b(\d\d?(?::\d\d)?)(?: oclock)? (?=in the (?:afternoon|evening)\b|at night\b|tonight\b)"), r"\1 pm "),
)


def _normalize(text: str) -> str:
    text = text.lower().replace("\u2019", "'")
    text = _AM_PM_DOTTED.sub(r"\1m", text)
    text = _THOUSANDS.sub("", text)
    text = " ".join(_NOT_WORD.sub(" ", text).split())
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return f" {text} "


class _Utterance:
    """The normalized text. Reading a phrase takes it out, so no later rule reads the same words again."""

    def __init__(self, text: str) -> None:
        self.text = text

    def take(self, pattern: re.Pattern) -> list[re.Match]:
        """Every match of pattern, blanked out of the text (with spaces, so positions stay comparable)."""
        found = []

        def blank(match: re.Match) -> str:
            found.append(match)
            return " " * len(match[0])

        self.text = pattern.sub(blank, self.text)
        return found


# --- Days ---------------------------------------------------------------------------------------------------

# "december 14th", "dec 14", "december the 14th", "december 14 2026"
_MONTH_DAY = re.compile(rf"\b{_MONTH} (?:the )?(?P<day>\d\d?)(?:st|nd|rd|th)?(?![\w:/])(?: (?P<year>\d\d\d\d)\b)?")
# "14th of december", "the 14th of december", "14th december"
_DAY_MONTH = re.compile(rf"\b(?:the )?(?P<day>\d\d?)(?:st|nd|rd|th) (?:of )?{_MONTH}\b(?: (?P<year>\d\d\d\d)\b)?")
_NUMERIC_DATE = re.compile(r"\b(?P<month>\d\d?)/(?P<day>\d\d?)(?:/(?P<year>\d\d\d\d|\d\d))?\b")  # "12/14", US
_ORDINAL_DAY = re.compile(rf"\b(?:on )?the (?P<day>\d\d?)(?:st|nd|rd|th)\b{_NOT_A_DAY}")  # "the 14th"
_ON_THE_DAY = re.compile(rf"\bon the (?P<day>\d\d?)(?![\w:/]){_NOT_A_DAY}")  # "on the 14"
_PAST_DAYS = re.compile(r"\b(?:the day before yesterday|yesterday|last night|earlier today"
                        r"|(?:last|this past|past) week(?:end)?)\b")  # fmt: skip
_LAST_WEEKDAY = re.compile(rf"\b(?:last|this past|past) {_WD}\b")
_DAY_AFTER_TOMORROW = re.compile(r"\b(?:the )?day after tomorrow\b")
_WEEKS_FROM_DAY = re.compile(r"\b(?P<n>a|\d\d?) weeks? from (?P<base>today|tomorrow)\b")  # a single day
_WEEKS_FROM_WEEKDAY = re.compile(rf"\b(?P<n>a|\d\d?) weeks? from (?:(?P<next>next) |this )?{_WD}\b")
_WEEKDAY_AFTER_NEXT = re.compile(rf"\b{_WD} after next\b")
_IN_DAYS = re.compile(r"\b(?:in (?P<n>a|\d\d?\d?) days?|(?P<m>a|\d\d?\d?) days? from (?:now|today))\b")
_TOMORROW = re.compile(r"\btomorrow\b")
_TODAY = re.compile(r"\b(?:later )?today\b")
_IN_WEEKS = re.compile(r"\b(?:in (?P<n>a|\d\d?) weeks?|(?P<m>a|\d\d?) weeks? from now)\b")  # a calendar week
_NEXT_WEEKDAY = re.compile(rf"\bnext {_WD}\b")
_WEEKDAY = re.compile(rf"\b(?:this (?:coming )?|coming )?{_WD}\b")


def _monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def _days(count: int) -> datetime.timedelta:
    return datetime.timedelta(days=count)


def _coming(today: datetime.date, weekday: int) -> datetime.date:
    """The weekday's next occurrence strictly after today."""
    return today + _days((weekday - today.weekday() - 1) % 7 + 1)


def _in_next_week(today: datetime.date, weekday: int) -> datetime.date:
    return _monday(today) + _days(7 + weekday)


def _end_of_week(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    monday = _monday(today) + _days(7 if today.weekday() == 6 else 0)
    return max(today, monday + _days(4)), monday + _days(5)


def _this_weekend(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    saturday = _monday(today) + _days(5)
    return max(today, saturday), saturday + _ONE_DAY


# Ranges of days that depend on today alone, in the order they are read ("end of next week" before "next week").
_WEEK_RANGES = (
    (re.compile(r"\b(?:the )?end of next week\b"), lambda t: (_monday(t) + _days(11), _monday(t) + _days(12))),
    (re.compile(r"\b(?:early|(?:the )?(?:beginning|start) of) next week\b"),
     lambda t: (_monday(t) + _days(7), _monday(t) + _days(8))),
    (re.compile(r"\b(?:the )?end of (?:the |this )?week\b"), _end_of_week),
    (re.compile(r"\b(?:the )?week after next\b"), lambda t: (_monday(t) + _days(14), _monday(t) + _days(20))),
    (re.compile(r"\bnext weekend\b"), lambda t: (_monday(t) + _days(12), _monday(t) + _days(13))),
    (re.compile(r"\b(?:this (?:coming )?|the |over the )?weekends?\b"), _this_weekend),
    (re.compile(r"\bnext week\b"), lambda t: (_monday(t) + _days(7), _monday(t) + _days(13))),
    (re.compile(r"\b(?:this|rest of (?:the|this)) week\b"), lambda t: (t, _monday(t) + _days(6))),
)  # fmt: skip


def _count(text: str) -> int:
    return 1 if text == "a" else int(text)


@dataclass
class _DaysSaid:
    """Every day phrase read, before they are reconciled into one day or range."""

    dates: list[datetime.date] = field(default_factory=list)
    numbered: list[datetime.date] = field(default_factory=list)  # the dates said by number ("the 14th", "12/14")
    ranges: list[tuple[datetime.date, datetime.date]] = field(default_factory=list)
    weekdays: list[int] = field(default_factory=list)  # weekdays said alone: placed once the rest is known
    past: bool = False
    no_such_date: bool = False


def _add_calendar_date(said: _DaysSaid, today: datetime.date, month: int, day: int, year_text: str | None) -> None:
    """A month and day (and perhaps a year) as said: the next such date on or after today."""
    year = int(year_text) if year_text else None
    if year is not None and year < 100:
        year += 2000
    if year is not None and abs(year - today.year) <= 5:  # "december 14 2019 honda": not a year
        try:
            when = datetime.date(year, month, day)
        except ValueError:
            said.no_such_date = True
            return
        if when >= today:
            said.dates.append(when)
            said.numbered.append(when)
        else:
            said.past = True
        return
    for year in range(today.year, today.year + 9):  # nine years always reach a February 29th
        try:
            when = datetime.date(year, month, day)
        except ValueError:
            continue
        if when >= today:
            said.dates.append(when)
            said.numbered.append(when)
            return
    said.no_such_date = True


def _next_day_of_month(today: datetime.date, day: int) -> datetime.date | None:
    """The next date on or after today whose day of month is day, skipping months without it."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            when = datetime.date(year, month, day)
        except ValueError:
            when = None
        if when is not None and when >= today:
            return when
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return None


def _read_days(utterance: _Utterance, today: datetime.date) -> _DaysSaid:
    said = _DaysSaid()
    for match in utterance.take(_MONTH_DAY) + utterance.take(_DAY_MONTH):
        _add_calendar_date(said, today, _MONTHS[match["month"]], int(match["day"]), match["year"])
    for match in utterance.take(_NUMERIC_DATE):
        month, day = int(match["month"]), int(match["day"])
        if 1 <= month <= 12 and 1 <= day <= 31:  # "24/7" is not a date
            _add_calendar_date(said, today, month, day, match["year"])
    for match in utterance.take(_ORDINAL_DAY) + utterance.take(_ON_THE_DAY):
        when = _next_day_of_month(today, int(match["day"]))
        if when is None:
            said.no_such_date = True
        else:
            said.dates.append(when)
            said.numbered.append(when)
    if utterance.take(_PAST_DAYS) + utterance.take(_LAST_WEEKDAY):
        said.past = True
    for _ in utterance.take(_DAY_AFTER_TOMORROW):
        said.dates.append(today + _days(2))
    for match in utterance.take(_WEEKS_FROM_DAY):
        base = today if match["base"] == "today" else today + _ONE_DAY
        said.dates.append(base + _days(7 * _count(match["n"])))
    for match in utterance.take(_WEEKS_FROM_WEEKDAY):
        weekday = WEEKDAYS.index(match["wd"])
        base = _in_next_week(today, weekday) if match["next"] else _coming(today, weekday)
        said.dates.append(base + _days(7 * _count(match["n"])))
    for match in utterance.take(_WEEKDAY_AFTER_NEXT):
        said.dates.append(_coming(today, WEEKDAYS.index(match["wd"])) + _days(7))
    for match in utterance.take(_IN_DAYS):
        said.dates.append(today + _days(_count(match["n"] or match["m"])))
    said.dates += [today + _ONE_DAY for _ in utterance.take(_TOMORROW)]
    said.dates += [today for _ in utterance.take(_TODAY)]
    for pattern, days_of in _WEEK_RANGES:
        said.ranges += [days_of(today) for _ in utterance.take(pattern)]
    for match in utterance.take(_IN_WEEKS):
        monday = _monday(today + _days(7 * _count(match["n"] or match["m"])))
        said.ranges.append((max(today, monday), monday + _days(6)))
    said.dates += [_in_next_week(today, WEEKDAYS.index(m["wd"])) for m in utterance.take(_NEXT_WEEKDAY)]
    said.weekdays += [WEEKDAYS.index(m["wd"]) for m in utterance.take(_WEEKDAY)]
    return said


def _settle_days(said: _DaysSaid, today: datetime.date) -> tuple[datetime.date | None, datetime.date | None, str]:
    """One day or one range out of everything said, or why not: (first_day, last_day, unclear)."""
    if said.no_such_date:
        return None, None, "no_such_date"
    dates, ranges, weekdays = set(said.dates), list(dict.fromkeys(said.ranges)), list(dict.fromkeys(said.weekdays))
    if len(weekdays) > 1:  # "tuesday or wednesday"
        return None, None, "two_days"
    for weekday in weekdays:
        if dates:  # "monday the 14th": the date must be a Monday
            if any(day.weekday() != weekday for day in dates):
                return None, None, "weekday_mismatch" if dates <= set(said.numbered) else "two_days"
        elif ranges:  # "next week on tuesday": the Tuesday inside it
            first, last = ranges[0]
            inside = _monday(first) + _days(weekday)
            if not first <= inside <= last:
                return None, None, "past" if inside < today else "two_days"
            dates.add(inside)
        else:
            dates.add(_coming(today, weekday))
    if len(dates) > 1 or len(ranges) > 1:
        return None, None, "two_days"
    if dates:
        day = dates.pop()
        if ranges and not ranges[0][0] <= day <= ranges[0][1]:
            return None, None, "two_days"
        return day, day, ""
    if ranges:
        return ranges[0][0], ranges[0][1], ""
    return None, None, "past" if said.past else ""


# --- Times of day -------------------------------------------------------------------------------------------

_FIRST_THING = re.compile(r"\bfirst thing(?: in the morning)?\b")
_EARLIEST = re.compile(r"\b(?:as (?:early|soon) as (?:possible|you can|you could|we can|i can)|asap|a s a p"
                       r"|soonest|earliest|first (?:available|opening|open|slot|spot|appointment)"
                       r"|next (?:available|opening)|right away)\b")  # fmt: skip
_BETWEEN = re.compile(rf"\b(?:between|from) {_time_token('a')} (?:and|to|till|til|until) {_time_token('b')}")
_AFTER = re.compile(rf"\b(?:after|(?<!no )later than|no earlier than|not before|not until|not till) {_time_token('t')}")
_BEFORE = re.compile(rf"\b(?:before|earlier than|no later than|until|till|til) {_time_token('t')}")
# Fixed windows said in words: (pattern, after, before), read in this order.
_WORD_WINDOWS = (
    (re.compile(r"\b(?:after|past) lunch(?: ?time)?\b"), (13, 0, ""), None),
    (re.compile(r"\bbefore lunch(?: ?time)?\b"), None, (12, 0, "pm")),
    (re.compile(r"\b(?:(?:at|around|over|during|about|on my) )?lunch(?: ?time| break| hour)?\b"),
     (11, 30, "am"), (13, 30, "")),
    (re.compile(r"\bafter work\b"), (17, 0, ""), None),
)  # fmt: skip
_PART_OF_DAY = re.compile(r"\b(?P<this>this )?(?:(?:early|late|mid) ?)?(?P<part>morning|afternoon|evening|night"
                          r"|tonight)s?\b")  # fmt: skip
_CUED_CLOCK = re.compile(rf"\b(?:at|around|round|about|by|say)(?: about| around| like)? {_time_token('t')}")
# Clocks that carry their own cue: "noon", "2:30", "2 pm", "2:30pm", "10 o'clock", "3-ish".
_SELF_CUED_CLOCK = re.compile(r"\b(?P<t>noon|midday|\d\d?:\d\d(?: ?[ap]m)?|\d\d? ?[ap]m|\d\d?(?= oclock| ?ish))"
                              r"(?: oclock| ?ish)?(?![\w:/])")  # fmt: skip
_CLOCK_PARTS = re.compile(r"(\d\d?)(?::(\d\d))? ?([ap]m)?")
_FILLER_PHRASES = re.compile(r"\bfor (?:me|us)\b")


def _raw_clock(token: str) -> Raw:
    if token in ("noon", "midday"):
        return 12, 0, "pm"
    match = _CLOCK_PARTS.match(token)
    return int(match[1]), int(match[2] or 0), match[3] or ""


def _resolve_clock(raw: Raw | None, part_of_day: str) -> datetime.time | None:
    """The time of day for a clock as said; None if there is no such clock ("13 pm", "9:75")."""
    if raw is None:
        return None
    hour, minute, meridiem = raw
    if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
        return None
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif 1 <= hour <= 11 and part_of_day in ("afternoon", "evening"):
        hour += 12
    elif 1 <= hour <= 6 and not (part_of_day == "morning" and hour >= 5):  # shop hours: "at 2" is 2 PM,
        hour += 12  # but "tomorrow morning at 6" is an early drop-off
    return datetime.time(hour, minute)


def _read_bounds(utterance: _Utterance) -> tuple[Raw | None, Raw | None]:
    """(after, before) as said, the first of each winning."""
    after = before = None
    for match in utterance.take(_BETWEEN):
        after, before = after or _raw_clock(match["a"]), before or _raw_clock(match["b"])
    for pattern, window_after, window_before in _WORD_WINDOWS:
        if utterance.take(pattern):
            after, before = after or window_after, before or window_before
    for match in utterance.take(_AFTER):
        after = after or _raw_clock(match["t"])
    for match in utterance.take(_BEFORE):
        before = before or _raw_clock(match["t"])
    return after, before


def _lone_hour(text: str) -> int | None:
    """An hour that is the whole utterance apart from filler ("yeah, how about 3?")."""
    words = [word for word in _FILLER_PHRASES.sub(" ", text).split() if word not in _FILLER_WORDS]
    if len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= 12:
        return int(words[0])
    return None


def _read_clocks(utterance: _Utterance) -> list[Raw]:
    """Every clock said, in the order said; a lone hour only when there is no other clock."""
    found = [(m.start(), _raw_clock(m["t"])) for m in utterance.take(_CUED_CLOCK) + utterance.take(_SELF_CUED_CLOCK)]
    lone = None if found else _lone_hour(utterance.text)
    if lone is not None:
        found.append((0, (lone, 0, "")))
    return [raw for _, raw in sorted(found)]


# --- Reading an utterance -----------------------------------------------------------------------------------


def understand_when(text: str, *, today: datetime.date) -> TimeRequest:
    """Read the day and time a caller asked for out of one utterance (may contain other words)."""
    try:
        return _understand(text, today)
    except Exception:  # a call must go on: a phrase we cannot read is a phrase not said
        return TimeRequest()


def _understand(text: str, today: datetime.date) -> TimeRequest:
    if not isinstance(text, str) or not text.strip():
        return TimeRequest()
    utterance = _Utterance(_normalize(text))
    said = _read_days(utterance, today)
    first_thing = bool(utterance.take(_FIRST_THING))
    earliest = bool(utterance.take(_EARLIEST)) or first_thing
    after, before = _read_bounds(utterance)
    parts = {"morning"} if first_thing else set()
    for match in utterance.take(_PART_OF_DAY):
        parts.add(_PART_NAMES[match["part"]])
        if match["this"] or match["part"] == "tonight":
            said.dates.append(today)
    part = parts.pop() if len(parts) == 1 else ""  # "morning or afternoon": no preference
    clocks = [_resolve_clock(raw, part) for raw in _read_clocks(utterance)]
    clocks = list(dict.fromkeys(clock for clock in clocks if clock is not None))
    first_day, last_day, unclear = _settle_days(said, today)
    if earliest and first_day is None and unclear in ("", "past"):
        first_day, unclear = today, ""
    if not unclear and len(clocks) > 1:
        unclear = "two_times"
    return TimeRequest(
        first_day=first_day,
        last_day=last_day,
        clock=clocks[0] if clocks else None,
        part_of_day=part,
        after=_resolve_clock(after, part),
        before=_resolve_clock(before, part),
        earliest=earliest,
        unclear=unclear,
    )
