"""Vehicle identification numbers (17 characters, North American check digit)."""

import re

from django.core.exceptions import ValidationError

# Letters I, O and Q are never used, to avoid confusion with 1 and 0.
_VIN_CHARACTERS = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9))),
    **dict(zip("JKLMN", range(1, 6))),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10))),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def normalize_vin(raw: str) -> str:
    """Upper case without spaces or dashes, as printed on a title or read over the phone."""
    return re.sub(r"[\s\-]", "", raw or "").upper()


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) that a 17-character VIN should carry."""
    total = sum(_TRANSLITERATION[char] * weight for char, weight in zip(vin, _WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(raw: str) -> None:
    vin = normalize_vin(raw)
    if len(vin) != 17:
        raise ValidationError(f"A VIN has 17 characters; this one has {len(vin)}.", code="vin_length")
    if not _VIN_CHARACTERS.match(vin):
        bad = sorted({c for c in vin if not re.match(r"[A-HJ-NPR-Z0-9]", c)})
        raise ValidationError(
            f"A VIN uses digits and letters other than I, O and Q; found {', '.join(bad)}.",
            code="vin_characters",
        )
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        raise ValidationError(
            f"This VIN's check digit (9th character) is {vin[8]} but should be {expected}: "
            "a character is probably mistyped.",
            code="vin_check_digit",
        )
