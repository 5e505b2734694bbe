"""Every write to customers, vehicles, consent and the dealership profile.

The admin, the phone agent, Celery tasks and management commands call these;
none of them writes these models directly.
"""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm.errors import CustomerError
from crm.models import ConsentChange, ConsentKind, ConsentSource, Customer, CustomerPhone, DealershipProfile, Vehicle
from crm.selectors import dealership_profile


def _first_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(str(m) for messages in error.message_dict.values() for m in messages)
    return " ".join(str(m) for m in error.messages)


def _validated_save(instance, **save_kwargs):
    """full_clean() then save(); model validation errors become a CustomerError with one sentence."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise CustomerError(_first_message(exc), code="invalid") from exc
    instance.save(**save_kwargs)
    return instance


@transaction.atomic
def customer_create(
    *,
    first_name: str,
    phone: str,
    last_name: str = "",
    email: str = "",
    preferred_language: str = "en",
    notes: str = "",
    other_phones: Iterable[str] = (),
    consents: dict[str, bool] | None = None,
    consent_source: str = ConsentSource.STAFF,
    by: AbstractBaseUser | None = None,
) -> Customer:
    """Create a customer; ``consents`` maps ConsentKind values to the flags the customer gave."""
    customer = _validated_save(
        Customer(
            first_name=first_name,
            last_name=last_name,
            phone=phone,
            email=email,
            preferred_language=preferred_language,
            notes=notes,
        )
    )
    for number in other_phones:
        customer_add_phone(customer=customer, number=number)
    for kind, value in (consents or {}).items():
        customer_set_consent(customer=customer, kind=kind, value=value, source=consent_source, by=by)
    return customer


def customer_update(*, customer: Customer, **fields) -> Customer:
    """Change plain fields (name, phone, email, language, notes). Consent has its own service."""
    editable = {"first_name", "last_name", "phone", "email", "preferred_language", "notes"}
    unknown = set(fields) - editable
    if unknown:
        raise TypeError(f"customer_update cannot change {', '.join(sorted(unknown))}")
    for name, value in fields.items():
        setattr(customer, name, value)
    return _validated_save(customer)


def customer_add_phone(*, customer: Customer, number: str, label: str = CustomerPhone.Label.MOBILE) -> CustomerPhone:
    return _validated_save(CustomerPhone(customer=customer, number=number, label=label))


@transaction.atomic
def customer_set_consent(
    *,
    customer: Customer,
    kind: str,
    value: bool,
    source: str,
    by: AbstractBaseUser | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Customer:
    """Give or withdraw one consent flag, recording when, how and by whom.

    Setting a flag to the value it already has changes nothing and records nothing.
    """
    if kind not in ConsentKind.values:
        raise CustomerError(f"There is no consent called {kind}.", code="unknown_consent")
    if source not in ConsentSource.values:
        raise CustomerError(f"There is no consent source called {source}.", code="unknown_source")
    # Lock the row: two calls changing consent at once must not lose a history row.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if getattr(customer, kind) == value:
        return customer
    at = at or timezone.now()
    setattr(customer, kind, value)
    setattr(customer, f"{kind}_changed_at", at)
    setattr(customer, f"{kind}_source", source)
    customer.save(update_fields=[kind, f"{kind}_changed_at", f"{kind}_source", "updated_at"])
    ConsentChange.objects.create(
        customer=customer, kind=kind, value=value, source=source, changed_at=at, changed_by=by, note=note[:255]
    )
    return customer


def customer_record_contact(*, customer: Customer, at: datetime | None = None) -> Customer:
    """Note that we spoke with the customer (a call in or out)."""
    customer.last_contact_at = at or timezone.now()
    customer.save(update_fields=["last_contact_at", "updated_at"])
    return customer


def vehicle_create(*, customer: Customer, **fields) -> Vehicle:
    """Register a vehicle to its owner. Fields: vin, year, make, model, trim, plate, plate_state, mileage, color."""
    return _validated_save(Vehicle(customer=customer, **fields))


def vehicle_update(*, vehicle: Vehicle, **fields) -> Vehicle:
    for name, value in fields.items():
        if name in {"id", "pk", "created_at", "updated_at"}:
            raise TypeError(f"vehicle_update cannot change {name}")
        setattr(vehicle, name, value)
    return _validated_save(vehicle)


def dealership_profile_update(**fields) -> DealershipProfile:
    profile = dealership_profile()
    for name, value in fields.items():
        setattr(profile, name, value)
    return _validated_save(profile)
