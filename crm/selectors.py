"""Reads with rules: finding customers by any spelling of a phone number, the dealership's profile."""

from django.db.models import Q, QuerySet

from crm.models import Customer, DealershipProfile
from crm.phones import phone_digits, try_normalize_phone
from crm.vin import normalize_vin

# Fewer digits than this match too many numbers to be useful in a search box.
MIN_PHONE_FRAGMENT_DIGITS = 4


def customer_find_by_phone(raw: str) -> Customer | None:
    """The customer whose main or other phone is ``raw`` in any format, or None."""
    number = try_normalize_phone(raw)
    if number is None:
        return None
    customer = Customer.objects.filter(phone=number).first()
    if customer is None:
        customer = Customer.objects.filter(other_phones__number=number).first()
    return customer


def customer_search_q(term: str, *, prefix: str = "") -> Q | None:
    """A filter matching customers by phone (any spelling, or a run of 4+ digits), VIN or plate.

    ``prefix`` lets other models search through their customer, e.g. "customer__".
    Returns None when the term looks like none of these, so callers fall back to name search.
    """
    term = (term or "").strip()
    if not term:
        return None
    q = Q()
    number = try_normalize_phone(term)
    if number:
        q |= Q(**{f"{prefix}phone": number}) | Q(**{f"{prefix}other_phones__number": number})
    digits = phone_digits(term)
    if len(digits) >= MIN_PHONE_FRAGMENT_DIGITS:
        q |= Q(**{f"{prefix}phone__contains": digits}) | Q(**{f"{prefix}other_phones__number__contains": digits})
    compact = normalize_vin(term)
    if len(compact) >= 5 and compact.isalnum():
        # A VIN's last digits, or a plate, typed with or without separators.
        q |= Q(**{f"{prefix}vehicles__vin__endswith": compact}) | Q(**{f"{prefix}vehicles__plate": compact})
    return q or None


def customers_matching(term: str) -> QuerySet[Customer]:
    """For the shell: customers found by phone, VIN, plate or name."""
    words = (term or "").split()
    if not words:
        return Customer.objects.none()
    by_name = Q()
    for word in words:  # every word must appear in the first or the last name
        by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    by_identifier = customer_search_q(term)
    q = by_name | by_identifier if by_identifier else by_name
    return Customer.objects.filter(q).distinct()


def dealership_profile() -> DealershipProfile:
    """The dealership's single profile row (created by a migration)."""
    profile = DealershipProfile.objects.filter(pk=DealershipProfile.SINGLETON_ID).first()
    return profile if profile is not None else DealershipProfile(pk=DealershipProfile.SINGLETON_ID)
