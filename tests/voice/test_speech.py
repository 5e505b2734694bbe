"""Speaking the agent's reply: chunking the token stream, and rewriting each chunk for the ear.

Pure functions: no database, no network.
"""

import datetime
import random
import string

import pytest

from voice import speech
from voice.speech import SentenceChunker, speakable

TODAY = datetime.date(2026, 3, 1)  # a Sunday; dates in 2026 are said without the year

REPLIES = [
    "Sure thing, I can help you with that, let me check the schedule for next week. The oil change is $79.95 "
    "and takes about 45 minutes, so you could wait in our lounge, or we can give you a ride. Dr. Smith said "
    "7:30 a.m. works. Call 602.555.0142.",
    "We offer several services, e.g. tire rotation, brake checks, etc. and more. Hmm... let me see... Okay! "
    "Is 7 a.m. Monday fine? Great - see you then.\n- Oil change: $79.95\n- Tires\n1. First\n2. Second",
    "We're at 123 Main St. Suite 5. Our hours are 8 am - 6 pm on weekdays — and 9 - 2 Saturday; call ahead.",
    "Your total is $1,250.00, i.e. parts and labor; approx. 3.5 hours. See https://example.com/service. Thanks!",
    "word " * 80,
    "x" * 300 + " end.",
    "",
    "   \n\n  ",
]


def chunks_of(parts: list[str], **options) -> list[str]:
    """Feed ``parts`` one after the other, then flush: every chunk the reply gives."""
    chunker = SentenceChunker(**options)
    chunks = []
    for part in parts:
        chunks += chunker.feed(part)
    return chunks + chunker.flush()


def random_split(text: str, rng: random.Random) -> list[str]:
    if len(text) < 2:
        return [text]
    cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, min(len(text) - 1, 30))))
    return [text[start:end] for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def without_whitespace(text: str) -> str:
    return "".join(text.split())


# =========================================================================== chunking


@pytest.mark.parametrize("reply", REPLIES)
def test_chunks_do_not_depend_on_how_the_reply_was_split(reply):
    whole = chunks_of([reply])
    assert chunks_of(list(reply)) == whole
    rng = random.Random(2026)
    for _ in range(40):
        assert chunks_of(random_split(reply, rng)) == whole


@pytest.mark.parametrize("reply", REPLIES)
def test_chunks_hold_the_whole_reply_trimmed_and_never_empty(reply):
    chunks = chunks_of([reply])
    assert all(chunk and chunk == chunk.strip() for chunk in chunks)
    assert without_whitespace("".join(chunks)) == without_whitespace(reply)


def test_a_reply_is_chunked_at_sentences_and_long_clauses():
    assert chunks_of([REPLIES[0]]) == [
        "Sure thing,",
        "I can help you with that, let me check the schedule for next week.",
        "The oil change is $79.95 and takes about 45 minutes, so you could wait in our lounge,",
        "or we can give you a ride.",
        "Dr. Smith said 7:30 a.m. works.",
        "Call 602.555.0142.",
    ]


def test_markdown_lists_ellipses_and_time_words_are_chunked_as_spoken():
    assert chunks_of([REPLIES[1]]) == [
        "We offer several services,",
        "e.g. tire rotation, brake checks, etc. and more.",
        "Hmm... let me see...",
        "Okay!",
        "Is 7 a.m. Monday fine?",
        "Great - see you then.",
        "- Oil change: $79.95",
        "- Tires",
        "1. First",
        "2. Second",
    ]


def test_the_first_chunk_is_cut_at_its_first_clause_so_the_caller_hears_something():
    chunker = SentenceChunker()
    assert chunker.feed("Yes") == []
    assert chunker.feed(",") == []  # "1,250" or "Yes, ..."? the next character says
    assert chunker.feed(" we're open") == ["Yes,"]


def test_a_clause_mark_before_any_word_is_no_chunk():
    assert chunks_of([", - — well, that depends on the car"]) == [", - — well,", "that depends on the car"]


def test_a_long_first_clause_is_cut_after_a_few_words():
    chunker = SentenceChunker()
    assert chunker.feed("On weekdays the service department") == []
    assert chunker.feed(" is") == []  # is "is" a whole word? the next character says
    assert chunker.feed(" open from 7 AM to 6 PM, Monday") == ["On weekdays the service department is"]
    assert chunker.flush() == ["open from 7 AM to 6 PM, Monday"]  # later chunks wait for a boundary


@pytest.mark.parametrize(
    ("reply", "first"),
    [
        (
            "A transmission fluid service is $189 to $289 and takes an hour.",
            "A transmission fluid service is $189 to $289 and takes",
        ),
        ("Please come in at 7:30 a.m. on the day itself.", "Please come in at 7:30 a.m. on the day"),
        ("Ask Dr. Smith or Mrs. Lopez about it today please.", "Ask Dr. Smith or Mrs. Lopez"),
        ("You can reach our parts counter at the main number any time.", "You can reach our parts counter"),
        ("We will be happy to look at the noise your car makes.", "We will be happy to look"),
    ],
)
def test_the_word_limit_never_cuts_after_numbers_abbreviations_or_words_that_lead_on(reply, first):
    assert chunks_of([reply])[0] == first


def test_the_word_limit_can_be_changed_or_turned_off():
    reply = "On weekdays the service department is open from 7 AM to 6 PM, Monday through Friday."
    assert chunks_of([reply], first_max_words=3)[0] == "On weekdays the service"
    assert chunks_of([reply], first_max_words=0)[0] == "On weekdays the service department is open from 7 AM to 6 PM,"
    with pytest.raises(ValueError):
        SentenceChunker(first_max_words=-1)


def test_a_time_without_dots_ends_its_sentence():
    assert chunks_of(["We're open until 2 PM. Saturday mornings fill up fast."], first_min_chars=40) == [
        "We're open until 2 PM.",
        "Saturday mornings fill up fast.",
    ]


def test_later_chunks_are_cut_at_a_clause_only_once_long_enough():
    text = "Okay. Your car is ready, the bill is paid, and the keys are at the front desk, so come by any time"
    chunks = chunks_of([text])
    assert chunks == [
        "Okay.",
        "Your car is ready, the bill is paid, and the keys are at the front desk,",
        "so come by any time",
    ]


def test_a_short_sentence_is_a_chunk_at_once():
    chunker = SentenceChunker()
    assert chunker.feed("Sure. ") == []  # is "Sure." a sentence? the next word says
    assert chunker.feed("Let") == ["Sure."]


def test_clause_thresholds_can_be_set():
    text = "First, second, and a third clause that is rather longer than the others, then the end"
    assert chunks_of([text], first_min_chars=5, min_chars=10) == [
        "First,",  # 6 characters: enough for a first chunk
        "second, and a third clause that is rather longer than the others,",  # "second," alone is under 10
        "then the end",
    ]


@pytest.mark.parametrize(
    ("text", "kept_whole"),
    [
        ("The oil change is $79.95, taxes included", "$79.95"),
        ("It takes 3.5 hours, more or less", "3.5 hours"),
        ("Come in at 7:30, before the rush", "7:30"),
        ("Come in at 7:30 a.m. tomorrow, before the rush", "7:30 a.m. tomorrow"),
        ("We open at 7 a.m. Monday, as usual", "7 a.m. Monday"),
        ("Dr. Smith will see you, he is in today", "Dr. Smith"),
        ("Mrs. Lopez and Mr. Lee, your advisors", "Mrs. Lopez and Mr. Lee"),
        ("Some services, e.g. a tire rotation, are free", "e.g. a tire rotation"),
        ("Some services, i.e. the free ones, are listed", "i.e. the free ones"),
        ("Filters, wipers, etc. are in stock", "etc. are in stock"),
        ("We're on Main St. Suite 5 is upstairs", "Main St. Suite 5"),
        ("It's approx. 45 minutes, usually", "approx. 45 minutes"),
        ("Ask for No. 5 at the desk, please", "No. 5"),
        ("Your advisor is J. R. Smith, from the day shift", "J. R. Smith"),
        ("See example.com/service, or call us", "example.com/service"),
        ("Write to service@example.com, any time", "service@example.com"),
        ("Your visit is on Nov. 24 at 9, confirmed", "Nov. 24"),
        ("Hmm... let me think, one moment", "Hmm... let me think"),
        ("Open 8 am - 6 pm, weekdays only", "8 am - 6 pm"),
        ("It is $79 - $99, depending on the oil", "$79 - $99"),
        ("We need 5W-30, the synthetic kind", "5W-30"),
        ("The total is 1,250 dollars, all in", "1,250 dollars"),
    ],
)
def test_no_cut_inside_numbers_times_abbreviations_and_addresses(text, kept_whole):
    # The smallest thresholds make every clause boundary a cut: only the rules keep these pieces together.
    chunks = chunks_of(list(text), first_min_chars=1, min_chars=1)
    assert any(kept_whole in chunk for chunk in chunks), chunks


def test_a_period_at_the_end_of_the_stream_waits_for_the_next_character():
    chunker = SentenceChunker()
    assert chunker.feed("The oil change is $79.") == []
    assert chunker.feed("95 today. ") == []
    assert chunker.feed("Anything else?") == ["The oil change is $79.95 today."]
    assert chunker.flush() == ["Anything else?"]


def test_sentence_marks_followed_by_whitespace_end_a_sentence():
    chunks = chunks_of(["Really?! Yes. (It is.) Great!\tThanks."])
    assert chunks == ["Really?!", "Yes.", "(It is.)", "Great!", "Thanks."]


def test_markdown_emphasis_after_a_sentence_mark_stays_with_its_sentence():
    assert chunks_of(["**Good news.** Your car is ready."]) == ["**Good news.**", "Your car is ready."]


def test_an_ellipsis_ends_a_sentence_only_before_a_capital():
    assert chunks_of(["Let me check... okay... Done."]) == ["Let me check... okay...", "Done."]
    assert chunks_of(["Let me check… Done."]) == ["Let me check…", "Done."]


def test_no_is_a_sentence_unless_a_number_follows():
    assert chunks_of(["No. Sorry about that. Ask for No. 5 please."]) == [
        "No.",
        "Sorry about that.",
        "Ask for No. 5 please.",
    ]


def test_a_line_break_ends_a_chunk_at_any_length():
    assert chunks_of(["Hours\nMon-Fri 8-6\n\nSat 9-2"]) == ["Hours", "Mon-Fri 8-6", "Sat 9-2"]


def test_whitespace_is_kept_inside_chunks_and_trimmed_at_the_ends():
    assert chunks_of(["  Hello  there.   How\tare you?  "]) == ["Hello  there.", "How\tare you?"]


def test_empty_chunks_are_never_returned():
    chunker = SentenceChunker()
    assert chunker.feed("\n\n   \n") == []
    assert chunker.feed("") == []
    assert chunker.flush() == []


def test_a_chunk_without_boundary_is_cut_at_its_last_space_at_max_chars():
    text = " ".join(f"word{n}" for n in range(100))
    chunks = chunks_of(list(text), max_chars=50)
    assert all(len(chunk) <= 50 for chunk in chunks)
    assert " ".join(chunks) == text  # cut between words only
    assert len(chunks[0]) > 40


def test_a_chunk_without_any_space_is_cut_at_max_chars():
    assert chunks_of(["x" * 120], max_chars=50) == ["x" * 50, "x" * 50, "x" * 20]


def test_flush_returns_the_rest_and_starts_a_new_reply():
    chunker = SentenceChunker()
    assert chunker.feed("Your car is ready. It cost $79") == ["Your car is ready."]
    assert chunker.flush() == ["It cost $79"]
    assert chunker.flush() == []
    # A new reply: its first chunk may again be cut early at a clause.
    assert chunker.feed("Sure thing, I can help you with that, let me") == ["Sure thing,"]


def test_flush_decides_what_was_waiting_for_more_text():
    chunker = SentenceChunker()
    assert chunker.feed("See you at 7 a.m. Mon") == []  # "Mon" or "Money"?
    assert chunker.flush() == ["See you at 7 a.m. Mon"]


def test_the_chunker_needs_a_positive_max_chars():
    with pytest.raises(ValueError):
        SentenceChunker(max_chars=0)


def test_random_replies_chunk_the_same_however_they_arrive():
    rng = random.Random(20261124)
    vocabulary = [
        "Sure", "the", "oil", "change", "is", "$79.95", "at", "7:30", "a.m.", "Dr.", "Smith", "e.g.", "etc.",
        "3.5", "No.", "5", "Main", "St.", "example.com", "...", "-", "—", "8-6", "Monday", "Okay", "I",
    ]  # fmt: skip
    marks = ["", "", "", ",", ".", "!", "?", ";", ":", "\n", "..."]
    for _ in range(150):
        words = [rng.choice(vocabulary) + rng.choice(marks) for _ in range(rng.randint(1, 60))]
        reply = " ".join(words)
        options = {
            "first_min_chars": rng.randint(1, 30),
            "first_max_words": rng.randint(0, 8),
            "min_chars": rng.randint(1, 80),
            "max_chars": rng.randint(20, 120),
        }
        whole = chunks_of([reply], **options)
        assert chunks_of(list(reply), **options) == whole
        assert chunks_of(random_split(reply, rng), **options) == whole
        assert without_whitespace("".join(whole)) == without_whitespace(reply)
        assert all(chunk and chunk == chunk.strip() for chunk in whole)


# =========================================================================== speakable


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("$79.95", "79 dollars and 95 cents"),
        ("$80", "80 dollars"),
        ("$80.00", "80 dollars"),
        ("$1,250", "1,250 dollars"),
        ("$1,250.50", "1,250 dollars and 50 cents"),
        ("$0.50", "50 cents"),
        ("$0.01", "1 cent"),
        ("$1", "1 dollar"),
        ("$1.01", "1 dollar and 1 cent"),
        ("$79-$99", "79 to 99 dollars"),
        ("$79 to $99", "79 to 99 dollars"),
        ("$79 - $99", "79 to 99 dollars"),
        ("$79.95-$99.95", "79 dollars and 95 cents to 99 dollars and 95 cents"),
        ("$2k", "2 thousand dollars"),
        ("$2-3k", "2 to 3 thousand dollars"),
        ("$1.2 million", "1.2 million dollars"),
        ("An oil change is $79.95.", "An oil change is 79 dollars and 95 cents."),
    ],
)
def test_prices(written, spoken):
    assert speakable(written, today=TODAY) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("7:30 AM", "7 30 AM"),
        ("7:30am", "7 30 AM"),
        ("7:30 a.m.", "7 30 AM."),
        ("Come in at 7:30 a.m.", "Come in at 7 30 AM."),
        ("at 7:30 a.m. tomorrow", "at 7 30 AM tomorrow"),
        ("at 9 a.m. Eastern", "at 9 AM Eastern"),
        ("7:00 a.m. works", "7 AM works"),
        ("7 pm", "7 PM"),
        ("7:05 pm", "7 oh 5 PM"),
        ("12:00 PM", "noon"),
        ("12 pm", "noon"),
        ("12:00 AM", "midnight"),
        ("12:30 PM", "12 30 PM"),
        ("14:00", "2 PM"),
        ("14:30", "2 30 PM"),
        ("07:30", "7 30 AM"),
        ("00:15", "12 15 AM"),
        ("at 7:30", "at 7 30"),  # AM or PM? the text does not say, so neither does the voice
        ("we close at 6:00", "we close at 6 o'clock"),
        ("8am-6pm", "8 AM to 6 PM"),
        ("8 am - 6 pm", "8 AM to 6 PM"),
        ("8:00am–6:00pm", "8 AM to 6 PM"),
        ("8-6pm", "8 AM to 6 PM"),
        ("1-3pm", "1 to 3 PM"),
        ("11-1pm", "11 AM to 1 PM"),
        ("9am-5", "9 AM to 5 PM"),
        ("10am-12pm", "10 AM to noon"),
        ("14:00-18:00", "2 to 6 PM"),
        ("7:30-8:30", "7 30 to 8 30"),
        ("open 8-6", "open 8 to 6"),
        ("25:00", "25:00"),
    ],
)
def test_times(written, spoken):
    assert speakable(written, today=TODAY) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("2026-11-24", "Tuesday, November 24th"),
        ("2027-01-05", "Tuesday, January 5th, 2027"),
        ("2026-11-24T14:30", "Tuesday, November 24th at 2 30 PM"),
        ("2026-02-30", "2026-02-30"),  # no such day: left alone
        ("11/24", "November 24th"),
        ("11/24/2026", "November 24th"),
        ("11/24/2027", "November 24th, 2027"),
        ("11/24/27", "November 24th, 2027"),
        ("2/29", "February 29th"),
        ("13/24", "13/24"),
        ("1/2 hour", "1/2 hour"),  # a fraction, not January 2nd
        ("3/4 of a tank", "3/4 of a tank"),
        ("Nov 24", "November 24th"),
        ("Nov. 24", "November 24th"),
        ("Nov 24th", "November 24th"),
        ("Sept 3", "September 3rd"),
        ("June 1, 2026", "June 1st"),
        ("Nov 24, 2027", "November 24th, 2027"),
        ("on the 24th", "on the 24th"),
        ("Tuesday, March 3rd at 2:30 PM", "Tuesday, March 3rd at 2 30 PM"),  # what scheduling's spoken_datetime says
        ("May 5pm work?", "May 5 PM work?"),  # "May" the verb, before a time
    ],
)
def test_dates(written, spoken):
    assert speakable(written, today=TODAY) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("+16025550142", "6 0 2, 5 5 5, 0 1 4 2"),
        ("602-555-0142", "6 0 2, 5 5 5, 0 1 4 2"),
        ("(602) 555-0142", "6 0 2, 5 5 5, 0 1 4 2"),
        ("602.555.0142", "6 0 2, 5 5 5, 0 1 4 2"),
        ("602 555 0142", "6 0 2, 5 5 5, 0 1 4 2"),
        ("+1 (602) 555-0142", "6 0 2, 5 5 5, 0 1 4 2"),
        ("1-800-555-0199", "8 0 0, 5 5 5, 0 1 9 9"),
        ("602-555-0142 ext. 12", "6 0 2, 5 5 5, 0 1 4 2, extension 12"),
        ("602-555-0142 x12", "6 0 2, 5 5 5, 0 1 4 2, extension 12"),
        ("602-555-0142x12", "6 0 2, 5 5 5, 0 1 4 2, extension 12"),
        ("Call 602-555-0142\nThanks", "Call 6 0 2, 5 5 5, 0 1 4 2. Thanks"),
        ("Call us at (602) 555-0142.", "Call us at 6 0 2, 5 5 5, 0 1 4 2."),
        ("123-456-7890", "123-456-7890"),  # no area code starts with 1
    ],
)
def test_phone_numbers(written, spoken):
    assert speakable(written, today=TODAY) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("1HGCM82633A004352", "1 H G C, M 8 2 6, 3 3 A, 0 0 4, 3 5 2"),
        ("Is your VIN 1HGCM82633A004352?", "Is your VIN 1 H G C, M 8 2 6, 3 3 A, 0 0 4, 3 5 2?"),
        ("5YJ3E1EA7KF317000", "5 Y J 3, E 1 E A, 7 K F, 3 1 7, 0 0 0"),  # "7 K" stays a letter, not "thousand"
        ("12345678901234567", "12345678901234567"),  # no letter: not a VIN
        ("1HGCM82633A00435I", "1HGCM82633A00435I"),  # I is never in a VIN
        ("Plate ABC-1234", "Plate ABC-1234"),
        ("Plate ABC1234", "Plate ABC1234"),
        ("Part 15400-PLM-A02", "Part 15400-PLM-A02"),
        ("RO 48213", "RO 48213"),
    ],
)
def test_vins_are_spelled_and_other_codes_left_alone(written, spoken):
    assert speakable(written, today=TODAY) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("We're at 123 Main Dr.", "We're at 123 Main Drive."),
        ("Dr. Smith will see you.", "Doctor Smith will see you."),
        ("Tell Dr. Smith.", "Tell Doctor Smith."),
        ("on Oak Dr. near the mall", "on Oak Drive near the mall"),
        ("at 400 W Camelback Rd. in Phoenix", "at 400 W Camelback Road in Phoenix"),
        ("on Main St.", "on Main Street."),
        ("123 Main St. Phoenix", "123 Main Street. Phoenix"),
        ("5th St. and Elm", "5th Street and Elm"),
        ("near St. Joseph's Hospital", "near Saint Joseph's Hospital"),
        ("1 Central Ave.", "1 Central Avenue."),
        ("Camelback Blvd", "Camelback Boulevard"),
        ("Hwy 60", "Highway 60"),
        ("Ste. 100", "Suite 100"),
        ("approx. 2 hours", "approximately 2 hours"),
        ("Approx. 2 hours", "Approximately 2 hours"),
        ("your appt", "your appointment"),
        ("two appts", "two appointments"),
        ("a few mins", "a few minutes"),
        ("30 mins", "30 minutes"),
        ("1 min", "1 minute"),
        ("2 hrs", "2 hours"),
        ("1 hr", "1 hour"),
        ("a few hrs", "a few hours"),
        ("5 mi. away", "5 miles away"),
        ("It's 1 mi.", "It's 1 mile."),
        ("65 mph", "65 miles per hour"),
        ("30 mpg", "30 miles per gallon"),
        ("w/ a loaner", "with a loaner"),
        ("w/o a loaner", "without a loaner"),
        ("oil & filter", "oil and filter"),
        ("10% off", "10 percent off"),
        ("bay #12", "bay number 12"),
        ("No. 5", "Number 5"),
        ("e.g. brakes", "for example brakes"),
        ("e.g., brakes", "for example, brakes"),
        ("i.e. brakes", "that is brakes"),
        ("wipers, filters, etc.", "wipers, filters, and so on."),
        ("wipers, etc. are in stock", "wipers, and so on are in stock"),
        ("Ford vs. Chevy", "Ford versus Chevy"),
        ("your A/C", "your A C"),
        ("the AC", "the A C"),
        ("an EV", "an E V"),
        ("ASAP", "as soon as possible"),
        ("OEM parts", "O E M parts"),
        ("30k miles", "30 thousand miles"),
        ("the 30K service", "the 30 thousand service"),
        ("60,000 miles", "60,000 miles"),
        ("Mr. Lee", "Mister Lee"),
        ("Mrs. Lopez", "Missus Lopez"),
        ("~30 minutes", "about 30 minutes"),
        ("Mon-Fri", "Monday to Friday"),
        ("M-F 8-6", "Monday to Friday 8 to 6"),
        ("2-3 hours", "2 to 3 hours"),
        ("2019-2021 models", "2019 to 2021 models"),
        ("5W-30 oil", "5W-30 oil"),
        ("24/7 roadside help", "24 7 roadside help"),
        ("E. G. Smith", "E. G. Smith"),
    ],
)
def test_abbreviations_and_symbols(written, spoken):
    assert speakable(written, today=TODAY) == spoken


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("**Oil change** is *quick*", "Oil change is quick"),
        ("__Important__: _bring_ your keys", "Important: bring your keys"),
        ("## Our hours", "Our hours"),
        ("- Oil change", "Oil change"),
        ("* Tire rotation", "Tire rotation"),
        ("Use `5W-30`", "Use 5W-30"),
        ("Book at https://dealer.example.com/book?x=1.", "Book at our website."),
        ("Visit www.dealer.com today", "Visit our website today"),
        ("See dealer.com.", "See our website."),
        ("See our website at www.dealer.com", "See our website"),
        ("Read [our policy](https://dealer.com/policy).", "Read our policy."),
        ("Write to service_desk@dealer.com.", "Write to service underscore desk at dealer dot com."),
        ("- Oil change\n- Tire rotation", "Oil change. Tire rotation"),
        ("  lots   of\t\tspace  ", "lots of space"),
        ("Great 👍 see you", "Great see you"),
        ("Great - see you then", "Great, see you then"),
        ("Great -- see you then", "Great, see you then"),
        ("Your loaner is free -", "Your loaner is free,"),
        ("A well-known shop", "A well-known shop"),
    ],
)
def test_markdown_urls_and_whitespace(written, spoken):
    assert speakable(written, today=TODAY) == spoken


def test_a_whole_reply_chunked_then_made_speakable():
    reply = (
        "Sure, I can book that. Your **30k service** is $349.95 and takes approx. 3 hrs, so we'd see you "
        "on 11/24 at 7:30am at 123 Main Dr. Call (602) 555-0142 w/ questions."
    )
    chunks = chunks_of(random_split(reply, random.Random(7)))
    assert [speakable(chunk, today=TODAY) for chunk in chunks] == [
        "Sure,",
        "I can book that.",
        # Under 60 characters at "3 hrs,", so no clause cut; "Dr." never ends a chunk, but ends its sentence.
        "Your 30 thousand service is 349 dollars and 95 cents and takes approximately 3 hours, so we'd see you "
        "on November 24th at 7 30 AM at 123 Main Drive. Call 6 0 2, 5 5 5, 0 1 4 2 with questions.",
    ]


def test_today_defaults_to_the_real_date():
    this_year = datetime.date.today().year
    assert speakable(f"{this_year}-06-01").endswith("June 1st")


def test_a_failing_rule_is_skipped_and_the_others_still_apply(monkeypatch, caplog):
    def broken(match):
        raise RuntimeError("a bug in one rule")

    monkeypatch.setattr(speech, "_spoken_price", broken)
    assert speakable("It's $79.95, approx. 2 hrs.", today=TODAY) == "It's $79.95, approximately 2 hours."
    assert "rule failed" in caplog.text


NASTY_INPUTS = [
    "",
    " ",
    "\n\n\t",
    "😀🚗💨",
    "日本語のテキストです。",
    "Привет, как дела?",
    "مرحبا",
    "$",
    "$$$.$,$-$",
    "...",
    "#" * 5000,
    "1" * 5000,
    ":" * 5000,
    "Dr. " * 1250,
    "$1," * 1700,
    " " * 5000,
    "a" * 5000,
    "1-" * 2500,
    "12:30 a.m.-" * 450,
    "1HGCM82633A004352 " * 280,
    "\x00\x01\ue000\uf8ff\U0010ffff",
    "[](){}<>*_`~|\\^",
]


@pytest.mark.parametrize("text", NASTY_INPUTS, ids=range(len(NASTY_INPUTS)))
def test_speakable_never_raises_on_odd_input(text):
    spoken = speakable(text, today=TODAY)
    assert isinstance(spoken, str)
    assert spoken == spoken.strip()


@pytest.mark.parametrize("not_text", [None, 42, b"bytes"])
def test_speakable_never_raises_even_on_what_is_not_text(not_text):
    assert isinstance(speakable(not_text), str)


def test_speakable_never_raises_on_random_strings():
    rng = random.Random(424242)
    alphabet = string.printable + "$$$:::...---///###***___ AaPpMm.,;!?–—…€£¥°½ñé中😀\u200d\ufe0f"
    for _ in range(400):
        length = rng.choice([1, 5, 20, 80, 300, 5000]) if rng.random() < 0.1 else rng.randint(0, 200)
        text = "".join(rng.choice(alphabet) for _ in range(length))
        spoken = speakable(text, today=TODAY)
        assert isinstance(spoken, str)
