"""Reads with rules: finding customers by any spelling of a phone number, the dealership's profile."""

import re
import unicodedata

from django.db.models import Q, QuerySet

from crm.models import Customer, CustomerPhone, DealershipProfile, Vehicle
from crm.phones import phone_digits, try_normalize_phone
from crm.vin import normalize_vin

# Fewer digits than this match too many numbers to be useful in a search box.
MIN_PHONE_FRAGMENT_DIGITS = 4
# A VIN ending shorter than this matches too many vehicles to prove anything.
MIN_VIN_ENDING = 4


def customer_find_by_phone(raw: str) -> Customer | None:
    """The customer whose main or other phone is ``raw`` in any format, or None."""
    number = try_normalize_phone(raw)
    if number is None:
        return None
    # Every call starts here (budget: 1 ms at p95). One round trip, each side by its own index, written as SQL:
    # building the same query through the ORM cost twice the database's own time.
    found = list(Customer.objects.raw(_BY_PHONE, [number, number]))
    return next((c for c in found if c.phone == number), found[0] if found else None)


# The customer whose main number it is, and the one who has it as another number. The models refuse a number
# that is both, but rows written around them (an import) could hold one: the main number wins.
_BY_PHONE = (
    f"SELECT * FROM {Customer._meta.db_table} WHERE phone = %s OR id = "
    f"(SELECT customer_id FROM {CustomerPhone._meta.db_table} WHERE number = %s LIMIT 1) LIMIT 2"
)


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


# --------------------------------------------------------------------------- for the phone agent's tools


def customer_get(customer_id: int) -> Customer | None:
    """The customer with this id, or None (their vehicles are read only if asked for)."""
    found = Customer.objects.filter(pk=customer_id).order_by()[:1]
    return found[0] if found else None


def normalize_plate(raw: str) -> str:
    """A plate as stored: upper case, no spaces or dashes ("abc-1234" -> "ABC1234")."""
    return re.sub(r"[\s\-]", "", raw or "").upper()


def name_words(text: str) -> list[str]:
    """The words of a name, compared without case, accents or punctuation ("O'Brien-Núñez" -> obrien, nunez)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"[’'`]", "", plain)
    return re.findall(r"[^\W\d_]+", plain)


def _name_matches(customer: Customer, spoken: str) -> bool:
    """Every word of the customer's first and of their last name is in what the caller said, in any order.

    A customer without a last name cannot be matched: a first name alone identifies no one.
    """
    first, last = name_words(customer.first_name), name_words(customer.last_name)
    if not first or not last:
        return False
    said = set(name_words(spoken))
    return set(first) <= said and set(last) <= said


def customer_verify_identity(*, name: str, plate: str = "", vin_ending: str = "") -> Customer | None:
    """The customer a caller on an unknown number proves to be, or None.

    The name must match the customer's first and last name (case, accents and order aside), and the
    plate (spaces and dashes aside) and/or the VIN ending given must be on one of that customer's
    vehicles; when both are given, both must match. None says nothing about which part failed.
    """
    plate = normalize_plate(plate)
    vin_ending = normalize_vin(vin_ending)
    if (not plate and not vin_ending) or (vin_ending and len(vin_ending) < MIN_VIN_ENDING):
        return None
    candidates = Customer.objects.all()
    if plate:
        candidates = candidates.filter(pk__in=Vehicle.objects.filter(plate=plate).values("customer_id"))
    if vin_ending:
        candidates = candidates.filter(pk__in=Vehicle.objects.filter(vin__endswith=vin_ending).values("customer_id"))
    matches = [customer for customer in candidates if _name_matches(customer, name)]
    # Two customers with the same name and the same plate (a plate passed on): no telling who is calling.
    return matches[0] if len(matches) == 1 else None


def vehicle_for_customer(vehicle_id: int, customer_id: int) -> Vehicle | None:
    """The vehicle with this id if it belongs to this customer, else None (whether or not it exists)."""
    # get(), not first(): first() would sort by the model's ordering, which joins the customer's name, to
    # pick one of at most one row.
    try:
        return Vehicle.objects.select_related("customer").get(pk=vehicle_id, customer_id=customer_id)
    except Vehicle.DoesNotExist:
        return None


def vehicle_vin_registered(vin: str) -> bool:
    """Whether a vehicle with this VIN (any spelling) is already on file."""
    vin = normalize_vin(vin)
    return bool(vin) and Vehicle.objects.filter(vin=vin).exists()
