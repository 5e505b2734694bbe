"""understand_when: the days and times callers ask for, read with fixed "today"s (no clock, no database)."""

import dataclasses
import random
from datetime import date, time

import pytest

from agent.offline import when
from agent.offline.when import TimeRequest, understand_when

THU = date(2026, 12, 3)  # a Thursday
MON = date(2026, 12, 7)  # a Monday
DEC30 = date(2026, 12, 30)  # a Wednesday at the end of a month and a year
JAN30 = date(2027, 1, 30)  # a Saturday before a February without a 29th


def case(today, text, *, day=None, days=None, clock=None, after=None, before=None, **rest):
    """One row: what understand_when(text, today=today) must return, every field of it.

    day="2026-12-08" is a single day, days=("2026-12-07", "2026-12-13") a range, clocks are "HH:MM".
    """
    first, last = (day, day) if day else (days or (None, None))
    expected = TimeRequest(
        first_day=date.fromisoformat(first) if first else None,
        last_day=date.fromisoformat(last) if last else None,
        clock=time.fromisoformat(clock) if clock else None,
        after=time.fromisoformat(after) if after else None,
        before=time.fromisoformat(before) if before else None,
        **rest,
    )
    return pytest.param(today, text, expected, id=f"{today.isoformat()} {text}")


DAYS = [
    case(THU, "today", day="2026-12-03"),
    case(THU, "later today", day="2026-12-03"),
    case(THU, "tomorrow", day="2026-12-04"),
    case(THU, "the day after tomorrow", day="2026-12-05"),
    case(DEC30, "tomorrow", day="2026-12-31"),
    case(DEC30, "the day after tomorrow", day="2027-01-01"),
    case(THU, "in 3 days", day="2026-12-06"),
    case(THU, "three days from now", day="2026-12-06"),
    case(THU, "in a couple of days", day="2026-12-05"),
    case(THU, "a week from today", day="2026-12-10"),
    case(THU, "a week from tomorrow", day="2026-12-11"),
    # weekdays: alone or "this" is strictly after today
    case(THU, "Friday", day="2026-12-04"),
    case(THU, "this Friday", day="2026-12-04"),
    case(THU, "anything Saturday", day="2026-12-05"),
    case(THU, "any time Saturday", day="2026-12-05"),
    case(THU, "Saturdays are best", day="2026-12-05"),
    case(THU, "Thursday", day="2026-12-10"),
    case(MON, "this Monday", day="2026-12-14"),
    case(THU, "this coming Tuesday", day="2026-12-08"),
    case(JAN30, "Saturday", day="2027-02-06"),
    case(THU, "tuesday's fine", day="2026-12-08"),
    # "next <weekday>": that weekday in next calendar week
    case(THU, "next Tuesday", day="2026-12-08"),
    case(MON, "next Tuesday", day="2026-12-15"),
    case(THU, "next Friday", day="2026-12-11"),
    case(MON, "next Monday", day="2026-12-14"),
    case(JAN30, "next Saturday", day="2027-02-06"),
    # a week on from a weekday
    case(THU, "a week from Monday", day="2026-12-14"),
    case(MON, "a week from Monday", day="2026-12-21"),
    case(THU, "two weeks from Monday", day="2026-12-21"),
    case(MON, "a week from next Monday", day="2026-12-21"),
    case(THU, "Tuesday after next", day="2026-12-15"),
    # day of month: on or after today, skipping months without it
    case(THU, "the 14th please", day="2026-12-14"),
    case(THU, "on the 2nd", day="2027-01-02"),
    case(THU, "the 3rd", day="2026-12-03"),
    case(THU, "on the 14", day="2026-12-14"),
    case(THU, "the fourteenth", day="2026-12-14"),
    case(THU, "the twenty first", day="2026-12-21"),
    case(THU, "the second", day="2027-01-02"),
    case(DEC30, "the 30th", day="2026-12-30"),
    case(DEC30, "the 31st", day="2026-12-31"),
    case(DEC30, "the 2nd", day="2027-01-02"),
    case(JAN30, "the 31st", day="2027-01-31"),
    case(JAN30, "the 29th", day="2027-03-29"),
    case(JAN30, "the 30th", day="2027-01-30"),
    # month and day: on or after today, next year if past
    case(THU, "December 14th", day="2026-12-14"),
    case(THU, "Dec 14", day="2026-12-14"),
    case(THU, "December the 14th", day="2026-12-14"),
    case(THU, "14th of December", day="2026-12-14"),
    case(THU, "the 14th of December", day="2026-12-14"),
    case(THU, "December first", day="2027-12-01"),
    case(THU, "December 3rd", day="2026-12-03"),
    case(DEC30, "January 5", day="2027-01-05"),
    case(DEC30, "Dec 14", day="2027-12-14"),
    case(THU, "May 5th", day="2027-05-05"),
    case(JAN30, "February 29th", day="2028-02-29"),
    case(THU, "December 14, 2026", day="2026-12-14"),
    case(THU, "12/14", day="2026-12-14"),
    case(DEC30, "12/14", day="2027-12-14"),
    case(THU, "1/5", day="2027-01-05"),
    case(THU, "12/14/2026", day="2026-12-14"),
    case(THU, "12/14/27", day="2027-12-14"),
    # a weekday with a date: they must agree
    case(THU, "Monday the 14th", day="2026-12-14"),
    case(THU, "Monday 14th", day="2026-12-14"),
    case(THU, "Monday, December 14th", day="2026-12-14"),
    case(THU, "Tuesday the 8th", day="2026-12-08"),
    case(THU, "next Friday the 11th", day="2026-12-11"),
    case(THU, "tomorrow, Friday", day="2026-12-04"),
    # ranges
    case(THU, "next week", days=("2026-12-07", "2026-12-13")),
    case(MON, "next week", days=("2026-12-14", "2026-12-20")),
    case(DEC30, "next week", days=("2027-01-04", "2027-01-10")),
    case(THU, "this week", days=("2026-12-03", "2026-12-06")),
    case(JAN30, "this week", days=("2027-01-30", "2027-01-31")),
    case(THU, "the week after next", days=("2026-12-14", "2026-12-20")),
    case(THU, "in two weeks", days=("2026-12-14", "2026-12-20")),
    case(THU, "two weeks from now", days=("2026-12-14", "2026-12-20")),
    case(DEC30, "in 2 weeks", days=("2027-01-11", "2027-01-17")),
    case(THU, "in a week", days=("2026-12-07", "2026-12-13")),
    case(THU, "this weekend", days=("2026-12-05", "2026-12-06")),
    case(THU, "over the weekend", days=("2026-12-05", "2026-12-06")),
    case(JAN30, "this weekend", days=("2027-01-30", "2027-01-31")),
    case(THU, "next weekend", days=("2026-12-12", "2026-12-13")),
    case(THU, "end of the week", days=("2026-12-04", "2026-12-05")),
    case(MON, "end of this week", days=("2026-12-11", "2026-12-12")),
    case(JAN30, "end of the week", days=("2027-01-30", "2027-01-30")),
    case(date(2026, 12, 6), "end of the week", days=("2026-12-11", "2026-12-12")),  # said on a Sunday
    case(THU, "end of next week", days=("2026-12-11", "2026-12-12")),
    case(THU, "early next week", days=("2026-12-07", "2026-12-08")),
    # a weekday inside a range
    case(THU, "next week on Tuesday", day="2026-12-08"),
    case(THU, "Tuesday next week", day="2026-12-08"),
    case(MON, "Wednesday next week", day="2026-12-16"),
    case(THU, "this weekend, Sunday", day="2026-12-06"),
    case(THU, "next Tuesday, so next week", day="2026-12-08"),
    # past days beside a coming one are ignored
    case(THU, "I called yesterday, can I come Friday?", day="2026-12-04"),
    case(THU, "I was in last week, can I come back next week", days=("2026-12-07", "2026-12-13")),
]

TIMES = [
    # cued clocks and the shop's hours
    case(THU, "at 2", clock="14:00"),
    case(THU, "at ten", clock="10:00"),
    case(THU, "at noon", clock="12:00"),
    case(THU, "midday", clock="12:00"),
    case(THU, "12 noon", clock="12:00"),
    case(THU, "at 1", clock="13:00"),
    case(THU, "at 6", clock="18:00"),
    case(THU, "at 7", clock="07:00"),
    case(THU, "at 11", clock="11:00"),
    case(THU, "at twelve", clock="12:00"),
    case(THU, "around 3", clock="15:00"),
    case(THU, "about 3", clock="15:00"),
    case(THU, "by 5", clock="17:00"),
    case(THU, "3-ish", clock="15:00"),
    case(THU, "noonish", clock="12:00"),
    case(THU, "ten o'clock", clock="10:00"),
    case(THU, "10 o'clock", clock="10:00"),
    case(THU, "10:30", clock="10:30"),
    case(THU, "at 12:30", clock="12:30"),
    case(THU, "Friday at 11:45", day="2026-12-04", clock="11:45"),
    case(THU, "at 14:00", clock="14:00"),
    # explicit am/pm wins
    case(THU, "9 a.m.", clock="09:00"),
    case(THU, "9am", clock="09:00"),
    case(THU, "6 AM", clock="06:00"),
    case(THU, "2 pm", clock="14:00"),
    case(THU, "2:30 p.m.", clock="14:30"),
    case(THU, "10 PM", clock="22:00"),
    case(THU, "12 am", clock="00:00"),
    case(THU, "at 9 in the morning", clock="09:00", part_of_day="morning"),
    case(THU, "at 6 in the morning", clock="06:00", part_of_day="morning"),
    case(THU, "7 at night", clock="19:00", part_of_day="evening"),
    case(THU, "at 7 in the evening", clock="19:00", part_of_day="evening"),
    # the utterance's part of the day
    case(THU, "this evening at 7", day="2026-12-03", clock="19:00", part_of_day="evening"),
    case(THU, "tomorrow morning at 8", day="2026-12-04", clock="08:00", part_of_day="morning"),
    case(THU, "tomorrow morning at 6", day="2026-12-04", clock="06:00", part_of_day="morning"),
    case(THU, "tomorrow afternoon at 2", day="2026-12-04", clock="14:00", part_of_day="afternoon"),
    # spoken clocks
    case(THU, "two thirty", clock="14:30"),
    case(THU, "ten thirty works", clock="10:30"),
    case(THU, "twelve fifteen", clock="12:15"),
    case(THU, "nine forty-five", clock="09:45"),
    case(THU, "ten oh five", clock="10:05"),
    case(THU, "half past two", clock="14:30"),
    case(THU, "quarter past ten", clock="10:15"),
    case(THU, "quarter after ten", clock="10:15"),
    case(THU, "quarter to three", clock="14:45"),
    case(THU, "a quarter to one", clock="12:45"),
    # a lone hour is a clock only when it is the whole utterance apart from filler
    case(THU, "how about 3?", clock="15:00"),
    case(THU, "2", clock="14:00"),
    case(THU, "Yeah, 9.", clock="09:00"),
    case(THU, "2 works for me", clock="14:00"),
    case(THU, "one works", clock="13:00"),
    case(THU, "Tuesday 2", day="2026-12-08", clock="14:00"),
    # parts of the day
    case(THU, "morning", part_of_day="morning"),
    case(THU, "in the afternoon", part_of_day="afternoon"),
    case(THU, "late afternoon", part_of_day="afternoon"),
    case(THU, "evenings", part_of_day="evening"),
    case(THU, "tonight", day="2026-12-03", part_of_day="evening"),
    case(THU, "this morning", day="2026-12-03", part_of_day="morning"),
    case(THU, "this afternoon", day="2026-12-03", part_of_day="afternoon"),
    case(THU, "tomorrow night", day="2026-12-04", part_of_day="evening"),
    case(THU, "morning or afternoon", part_of_day=""),  # no preference
    # windows
    case(THU, "after lunch", after="13:00"),
    case(THU, "before lunch", before="12:00"),
    case(THU, "lunchtime", after="11:30", before="13:30"),
    case(THU, "around lunch", after="11:30", before="13:30"),
    case(THU, "on my lunch break", after="11:30", before="13:30"),
    case(THU, "after work", after="17:00"),
    case(THU, "after 3", after="15:00"),
    case(THU, "after 9", after="09:00"),
    case(THU, "not until 3", after="15:00"),
    case(THU, "no earlier than 9", after="09:00"),
    case(THU, "before noon", before="12:00"),
    case(THU, "before 10", before="10:00"),
    case(THU, "no later than 4 pm", before="16:00"),
    case(THU, "until 4", before="16:00"),
    case(THU, "between 2 and 4", after="14:00", before="16:00"),
    case(THU, "between 10 and 2", after="10:00", before="14:00"),
    case(THU, "from 9 to 11", after="09:00", before="11:00"),
    # earliest
    case(THU, "as early as possible", days=("2026-12-03", None), earliest=True),
    case(THU, "as soon as possible", days=("2026-12-03", None), earliest=True),
    case(THU, "soonest", days=("2026-12-03", None), earliest=True),
    case(THU, "whenever is soonest", days=("2026-12-03", None), earliest=True),
    case(THU, "what's your earliest", days=("2026-12-03", None), earliest=True),
    case(THU, "first available", days=("2026-12-03", None), earliest=True),
    case(THU, "the first available appointment", days=("2026-12-03", None), earliest=True),
    case(THU, "next available", days=("2026-12-03", None), earliest=True),
    case(THU, "ASAP", days=("2026-12-03", None), earliest=True),
    case(THU, "first thing in the morning", days=("2026-12-03", None), part_of_day="morning", earliest=True),
    case(THU, "first thing Monday", day="2026-12-07", part_of_day="morning", earliest=True),
    case(THU, "asap next week", days=("2026-12-07", "2026-12-13"), earliest=True),
]

UTTERANCES = [
    case(THU, "Yeah, could I bring it in next Tuesday at 2?", day="2026-12-08", clock="14:00"),
    case(MON, "Yeah, could I bring it in next Tuesday at 2?", day="2026-12-15", clock="14:00"),
    case(THU, "um tomorrow morning works", day="2026-12-04", part_of_day="morning"),
    case(THU, "How about Friday after lunch?", day="2026-12-04", after="13:00"),
    case(THU, "December 14th at 10:30 AM", day="2026-12-14", clock="10:30"),
    case(THU, "could I come on the 14th at 10", day="2026-12-14", clock="10:00"),
    case(THU, "12/14 at 2:30", day="2026-12-14", clock="14:30"),
    case(THU, "Good morning, I'd like Tuesday at 2", day="2026-12-08", clock="14:00"),
    case(THU, "uh Tuesday, uh, let's say around 10-ish?", day="2026-12-08", clock="10:00"),
    case(THU, "can you do 8 am next Wednesday", day="2026-12-09", clock="08:00"),
    case(THU, "sometime next week in the afternoon", days=("2026-12-07", "2026-12-13"), part_of_day="afternoon"),
    case(THU, "I'll bring 2 cars on Tuesday at 3", day="2026-12-08", clock="15:00"),
    case(THU, "My 2019 Honda has 45,000 miles, can I come Friday at 9?", day="2026-12-04", clock="09:00"),
    case(THU, "the 14th in the morning", day="2026-12-14", part_of_day="morning"),
    case(THU, "THE 14TH, AT 10:30!!!", day="2026-12-14", clock="10:30"),
    case(THU, "what about the 10th at 9", day="2026-12-10", clock="09:00"),
]

NOTHING = [
    "",
    "   ",
    "I have a 2019 Honda with 45,000 miles",
    "my number is 602 555 0123",
    "call me at 602-555-0123",
    "for 2 cars",
    "the plate is ABC 123",
    "it's about 3 years old",
    "45,000",
    "2019",
    "2 or 3",
    "that one works",
    "at one point I had it in",
    "the 2nd car is a Honda",
    "are you open 24/7?",
    "I may need an oil change",
    "Good morning!",
    "my brakes are squeaking",
    "after 2 weeks it started again",
    "about 45k miles",
]

UNCLEAR = [
    case(THU, "February 30th", unclear="no_such_date"),
    case(THU, "April 31st", unclear="no_such_date"),
    case(THU, "2/30", unclear="no_such_date"),
    case(THU, "the 45th", unclear="no_such_date"),
    case(THU, "Tuesday or Wednesday", unclear="two_days"),
    case(THU, "next Tuesday or Wednesday", unclear="two_days"),
    case(THU, "tomorrow or Saturday", unclear="two_days"),
    case(THU, "the 14th or the 15th", unclear="two_days"),
    case(THU, "next week or the week after next", unclear="two_days"),
    case(THU, "next week on the 20th", unclear="two_days"),
    case(THU, "Monday the 15th", unclear="weekday_mismatch"),
    case(THU, "Tuesday the 9th", unclear="weekday_mismatch"),
    case(THU, "yesterday", unclear="past"),
    case(THU, "last Monday", unclear="past"),
    case(THU, "12/14/2025", unclear="past"),
    case(THU, "this week on Monday", unclear="past"),
    case(THU, "yesterday, but asap", days=("2026-12-03", None), earliest=True),
    case(THU, "at 2 or at 3", clock="14:00", unclear="two_times"),
    case(THU, "Tuesday or Wednesday at 2", clock="14:00", unclear="two_days"),
]


@pytest.mark.parametrize("today, text, expected", DAYS)
def test_days(today, text, expected):
    assert understand_when(text, today=today) == expected


@pytest.mark.parametrize("today, text, expected", TIMES)
def test_times_of_day(today, text, expected):
    assert understand_when(text, today=today) == expected


@pytest.mark.parametrize("today, text, expected", UTTERANCES)
def test_whole_utterances(today, text, expected):
    assert understand_when(text, today=today) == expected


@pytest.mark.parametrize("text", NOTHING)
def test_numbers_that_are_not_times_and_talk_about_other_things_say_nothing(text):
    result = understand_when(text, today=THU)
    assert result == TimeRequest()
    assert not result.said_anything


@pytest.mark.parametrize("today, text, expected", UNCLEAR)
def test_what_cannot_be_placed_says_why(today, text, expected):
    assert understand_when(text, today=today) == expected


@pytest.mark.parametrize(
    "request_, said",
    [
        (TimeRequest(), False),
        (TimeRequest(unclear="two_days"), False),
        (TimeRequest(first_day=THU, last_day=THU), True),
        (TimeRequest(clock=time(0, 0)), True),  # midnight is still a clock
        (TimeRequest(part_of_day="morning"), True),
        (TimeRequest(after=time(13)), True),
        (TimeRequest(before=time(12)), True),
        (TimeRequest(earliest=True), True),
    ],
)
def test_said_anything_is_any_day_or_time(request_, said):
    assert request_.said_anything is said


def test_a_time_request_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TimeRequest().clock = time(9)


def _random_utterance(rng: random.Random) -> str:
    """Garbage, near-misses built from the grammar's own words, or both."""
    words = (
        "at on the next this a week weeks from after before between and to till noon morning tonight am pm p.m."
        " o'clock quarter half past one two twelve thirty forty-five 0 1 2 12 13 99 2019 45,000 14th 31st 0th 2/30"
        " 12/14 24/7 13:75 :: / - december feb may monday sunday weekend weekends in days first thing asap lunch"
        " ish yesterday last end of early ? ! , . ' \u2019 é 漢 \U0001f697 \x00"
    ).split()
    if rng.random() < 0.5:
        return " ".join(rng.choice(words) for _ in range(rng.randint(0, 15)))
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 :/.,-'?!\t\nÄéΩ漢\u2019\u00a0\U0001f697"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))


def test_random_strings_never_raise():
    rng = random.Random(20261203)
    for _ in range(500):
        text = _random_utterance(rng)
        for today in (THU, MON, DEC30, JAN30, date(2028, 2, 29)):
            # the unguarded reader, so that a bug shows here instead of hiding behind understand_when's guard
            result = when._understand(text, today)
            assert isinstance(result, TimeRequest)
            if result.first_day is not None:
                assert result.first_day >= today
                assert result.last_day is None or result.last_day >= result.first_day


@pytest.mark.parametrize(
    "text",
    ["2 " * 50_000, "at " * 50_000, "next week " * 20_000, "1" * 100_000, "the 14th at 2 " * 10_000, "\x00" * 1000],
    ids=["many numbers", "many cues", "many weeks", "one long number", "many days", "nul bytes"],
)
def test_very_long_utterances_are_read(text):
    assert isinstance(understand_when(text, today=THU), TimeRequest)


@pytest.mark.parametrize("today", [date.min, date.max])
@pytest.mark.parametrize("text", ["next Tuesday at 2", "yesterday", "in 99 weeks", "December 14th", "the 14th"])
def test_the_ends_of_the_calendar_do_not_raise(today, text):
    assert isinstance(understand_when(text, today=today), TimeRequest)


@pytest.mark.parametrize("text", [None, 14, b"tomorrow"])
def test_what_is_not_text_says_nothing(text):
    assert understand_when(text, today=THU) == TimeRequest()
