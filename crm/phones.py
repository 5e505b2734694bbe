"""Phone numbers: one canonical form (E.164) for storage, lookup and logs.

Callers write numbers every way ("(602) 555-0100", "602.555.0100",
"+1 602 555 0100"); everything is stored and compared as E.164 so that all of
them find the same customer.
"""

import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

_SEARCHABLE = re.compile(r"^[\d\s().+\-]+$")


class InvalidPhoneNumber(ValidationError):
    """Raised for text that is not a valid phone number; the message can be shown or spoken."""


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """Return ``raw`` in E.164 ("+16025550100") or raise InvalidPhoneNumber."""
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("Enter a phone number.", code="required")
    try:
        parsed = phonenumbers.parse(text, region or settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(f"“{text}” is not a phone number.", code="invalid_phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"“{text}” is not a valid phone number.", code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def try_normalize_phone(raw: str) -> str | None:
    """E.164 for text that reads as a phone number, else None (for search boxes)."""
    if not raw or not _SEARCHABLE.match(raw.strip()):
        return None
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        return None


def phone_digits(raw: str) -> str:
    """The digits of a search term that looks like (part of) a phone number, else ""."""
    if not raw or not _SEARCHABLE.match(raw.strip()):
        return ""
    return re.sub(r"\D", "", raw)


def format_phone(e164: str) -> str:
    """Readable form for the admin: national style at home, international otherwise."""
    if not e164:
        return ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    region = phonenumbers.region_code_for_number(parsed)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if region == settings.PHONE_DEFAULT_REGION
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def mask_phone(number: str) -> str:
    """For logs: all but the last four digits hidden ("***0100")."""
    digits = re.sub(r"\D", "", number or "")
    return f"***{digits[-4:]}" if digits else ""
