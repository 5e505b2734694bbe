from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from crm.fields import PhoneNumberField, PlateField, VinField
from crm.phones import format_phone


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish"
    VIETNAMESE = "vi", "Vietnamese"
    CHINESE = "zh", "Chinese"
    FRENCH = "fr", "French"


class ConsentKind(models.TextChoices):
    REMINDER_CALLS = "reminder_calls", "Reminder calls"  # automated calls about the customer's own appointments
    RECORDING = "recording", "Call recording"  # calls with this customer may be recorded and transcribed
    SMS = "sms", "Text messages"  # texts about appointments and service
    DO_NOT_CALL = "do_not_call", "Do not call"  # no automated calls at all, whatever else was agreed


class ConsentSource(models.TextChoices):
    STAFF = "staff", "Staff in the CRM"  # an advisor recorded what the customer told them
    INBOUND_CALL = "inbound_call", "Inbound phone call"  # the customer said so to the phone agent
    REMINDER_CALL = "reminder_call", "Reminder call"  # the customer said so during a reminder call
    WRITTEN = "written", "Written form"  # a signed repair order or web form
    IMPORT = "import", "Data import"  # brought over from another system
    SYSTEM = "system", "System"  # set by the product itself (e.g. demo data)


class Customer(models.Model):
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80, blank=True)
    phone = PhoneNumberField("main phone", unique=True, help_text="Any format; stored as +1XXXXXXXXXX.")
    email = models.EmailField(blank=True)
    preferred_language = models.CharField(max_length=5, choices=Language.choices, default=Language.ENGLISH)
    notes = models.TextField(blank=True)

    # Each consent flag carries when and how it was last given or withdrawn;
    # the full history is in ConsentChange. Change them through
    # crm.services.customer_set_consent so that the history stays complete.
    reminder_calls = models.BooleanField("reminder calls", default=False)
    reminder_calls_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    reminder_calls_source = models.CharField(max_length=20, choices=ConsentSource.choices, blank=True, editable=False)
    recording = models.BooleanField("call recording", default=False)
    recording_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    recording_source = models.CharField(max_length=20, choices=ConsentSource.choices, blank=True, editable=False)
    sms = models.BooleanField("text messages", default=False)
    sms_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    sms_source = models.CharField(max_length=20, choices=ConsentSource.choices, blank=True, editable=False)
    do_not_call = models.BooleanField("do not call", default=False)
    do_not_call_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    do_not_call_source = models.CharField(max_length=20, choices=ConsentSource.choices, blank=True, editable=False)

    last_contact_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(Lower("last_name"), Lower("first_name"), name="customer_name_idx"),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    def clean(self):
        if self.phone and self.pk is not None:
            if self.other_phones.filter(number=self.phone).exists():
                raise ValidationError({"phone": "This number is already listed among the customer's other phones."})
        if self.phone:
            taken = CustomerPhone.objects.filter(number=self.phone)
            if self.pk is not None:
                taken = taken.exclude(customer_id=self.pk)
            owner = taken.select_related("customer").first()
            if owner:
                raise ValidationError({"phone": f"This number is already listed for {owner.customer}."})


class CustomerPhone(models.Model):
    """Numbers besides the main one (work, spouse's mobile...) that should also identify the customer."""

    class Label(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        HOME = "home", "Home"
        WORK = "work", "Work"
        OTHER = "other", "Other"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="other_phones")
    number = PhoneNumberField(unique=True)
    label = models.CharField(max_length=10, choices=Label.choices, default=Label.MOBILE)

    class Meta:
        verbose_name = "other phone"

    def __str__(self):
        return f"{format_phone(self.number)} ({self.get_label_display()})"

    def clean(self):
        if not self.number:
            return
        owner_id = Customer.objects.filter(phone=self.number).values_list("pk", flat=True).first()
        if owner_id is not None and owner_id == self.customer_id:
            raise ValidationError({"number": "This is already the customer's main phone."})
        if owner_id is not None:
            raise ValidationError({"number": "This number is another customer's main phone."})


class ConsentChange(models.Model):
    """One giving or withdrawing of a consent flag: the audit trail behind Customer's flags."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_changes")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    value = models.BooleanField(help_text="The flag's value after the change.")
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True, help_text="e.g. what the customer said, or the call it came from")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "kind", "-changed_at"], name="consent_change_lookup_idx")]

    def __str__(self):
        state = "on" if self.value else "off"
        return f"{self.get_kind_display()} {state} ({self.get_source_display()})"


class Vehicle(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vehicles", verbose_name="owner")
    vin = VinField("VIN", blank=True, help_text="17 characters; spaces and dashes are ignored.")
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    make = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=60, blank=True)
    trim = models.CharField(max_length=60, blank=True)
    plate = PlateField("license plate", blank=True)
    plate_state = models.CharField(max_length=2, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True, help_text="Odometer at the last visit, in miles.")
    color = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer", "-year", "id"]
        constraints = [
            models.UniqueConstraint(fields=["vin"], condition=~Q(vin=""), name="vehicle_vin_unique"),
            models.CheckConstraint(condition=Q(year__isnull=True) | Q(year__gte=1900), name="vehicle_year_sane"),
        ]
        indexes = [models.Index(fields=["plate"], name="vehicle_plate_idx")]

    def __str__(self):
        description = " ".join(str(p) for p in (self.year, self.make, self.model) if p) or "Vehicle"
        return f"{description} ({self.vin[-6:]})" if self.vin else description

    @property
    def spoken_name(self) -> str:
        """How the agent refers to the car: "your 2019 Honda Accord"."""
        return " ".join(str(p) for p in (self.year, self.make, self.model) if p) or "your vehicle"


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not a time zone name such as America/Phoenix.")


def default_greeting() -> str:
    return (
        "Thanks for calling the service department. I'm the automated assistant, and this call is recorded. "
        "How can I help you today?"
    )


class DealershipProfile(models.Model):
    """The dealership itself: one row, edited in the admin."""

    SINGLETON_ID = 1

    name = models.CharField(max_length=120, default="Service Department")
    main_phone = PhoneNumberField(blank=True)
    street = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=2, blank=True)
    postal_code = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(
        max_length=64,
        default=settings.TIME_ZONE,
        validators=[validate_timezone],
        help_text="Opening hours, reminders and what the agent says use this zone (the TIME_ZONE setting).",
    )
    transfer_phone = PhoneNumberField(
        "transfer number", blank=True, help_text="Where the agent transfers callers who ask for a person."
    )
    greeting = models.TextField(
        default=default_greeting,
        help_text="Spoken first on every call: name the dealership and say that the assistant is automated "
        "and the call is recorded.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "dealership profile"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="dealership_profile_single_row")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_ID
        super().save(*args, **kwargs)

    @property
    def address(self) -> str:
        locality = " ".join(p for p in (self.state, self.postal_code) if p)
        return ", ".join(p for p in (self.street, self.city, locality) if p)
