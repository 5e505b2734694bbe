from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import ConsentChange, ConsentKind, ConsentSource, Customer, CustomerPhone, DealershipProfile, Vehicle
from crm.phones import format_phone
from crm.selectors import customer_search_q, dealership_profile
from crm.vin import normalize_vin

CONSENT_FLAGS = [kind.value for kind in ConsentKind]


class PhoneSearchMixin:
    """Adds "any spelling of a phone number, a VIN or a plate" to the admin search box.

    ``customer_lookup`` is the path from the admin's model to Customer ("" for Customer itself).
    """

    customer_lookup = ""

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        q = customer_search_q(search_term, prefix=self.customer_lookup)
        if q is not None:
            results = results | queryset.filter(q)
            may_have_duplicates = True
        return results, may_have_duplicates


class HistoryInline(admin.TabularInline):
    """An object's audit rows, read-only: only services write them."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AuditTrailAdmin(PhoneSearchMixin, admin.ModelAdmin):
    """A read-only list of audit rows: nothing can be added, edited or bulk-deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0


class VehicleFormSet(BaseInlineFormSet):
    def clean(self):
        # The VIN's uniqueness is a conditional constraint (blank VINs are
        # allowed twice), which Django does not compare between rows of one form.
        super().clean()
        seen = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            vin = normalize_vin(form.cleaned_data.get("vin") or "")
            if vin and vin in seen:
                form.add_error("vin", "This VIN is entered twice.")
            seen.add(vin)


class VehicleInline(admin.TabularInline):
    model = Vehicle
    formset = VehicleFormSet
    extra = 0
    fields = ["year", "make", "model", "trim", "vin", "plate", "plate_state", "mileage", "color"]
    show_change_link = True


class ConsentChangeInline(HistoryInline):
    model = ConsentChange
    fields = ["changed_at", "kind", "value", "source", "changed_by", "note"]
    verbose_name_plural = "consent history"


@admin.register(Customer)
class CustomerAdmin(PhoneSearchMixin, admin.ModelAdmin):
    list_display = ["full_name", "phone_number", "email", "vehicle_count", "reminder_calls", "do_not_call", "last_contact_at"]
    list_display_links = ["full_name", "phone_number"]
    list_filter = ["reminder_calls", "recording", "sms", "do_not_call", "preferred_language", "created_at"]
    search_fields = ["first_name", "last_name", "email", "vehicles__vin", "vehicles__plate"]
    search_help_text = "Name, e-mail, any spelling of a phone number, the end of a VIN, or a plate."
    readonly_fields = [
        "consent_summary",
        "last_contact_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["first_name", "last_name", "phone", "email", "preferred_language", "notes"]}),
        (
            "Consent",
            {
                "fields": [*CONSENT_FLAGS, "consent_summary"],
                "description": "Changes are recorded with the time and your name in the consent history below.",
            },
        ),
        ("History", {"fields": ["last_contact_at", "created_at", "updated_at"]}),
    ]
    inlines = [CustomerPhoneInline, VehicleInline, ConsentChangeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(vehicle_total=Count("vehicles", distinct=True))

    @admin.display(description="name", ordering="last_name")
    def full_name(self, obj):
        return obj.full_name

    @admin.display(description="phone", ordering="phone")
    def phone_number(self, obj):
        return format_phone(obj.phone)

    @admin.display(description="vehicles", ordering="vehicle_total")
    def vehicle_count(self, obj):
        return obj.vehicle_total

    @admin.display(description="last changes")
    def consent_summary(self, obj):
        lines = []
        for kind in ConsentKind:
            at = getattr(obj, f"{kind.value}_changed_at")
            if at:
                source = ConsentSource(getattr(obj, f"{kind.value}_source")).label
                lines.append(f"{kind.label}: {timezone.localtime(at):%Y-%m-%d %H:%M} ({source})")
        return "\n".join(lines) or "Never changed"

    def save_model(self, request, obj, form, change):
        # Consent goes through the service so that every change lands in the
        # history with who made it: save the rest first, then each flag.
        wanted = {kind: form.cleaned_data[kind] for kind in CONSENT_FLAGS}
        if change:
            stored = Customer.objects.get(pk=obj.pk)
            for kind in CONSENT_FLAGS:
                setattr(obj, kind, getattr(stored, kind))
        else:
            for kind in CONSENT_FLAGS:
                setattr(obj, kind, False)
        super().save_model(request, obj, form, change)
        for kind, value in wanted.items():
            services.customer_set_consent(
                customer=obj, kind=kind, value=value, source=ConsentSource.STAFF, by=request.user
            )
        obj.refresh_from_db()


@admin.register(Vehicle)
class VehicleAdmin(PhoneSearchMixin, admin.ModelAdmin):
    customer_lookup = "customer__"
    list_display = ["__str__", "vin", "plate", "customer", "mileage", "updated_at"]
    list_filter = ["make", "year"]
    list_select_related = ["customer"]
    search_fields = ["vin", "plate", "make", "model", "customer__first_name", "customer__last_name"]
    search_help_text = "VIN, plate, make or model, or the owner's name or phone number."
    autocomplete_fields = ["customer"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(ConsentChange)
class ConsentChangeAdmin(AuditTrailAdmin):
    """The consent audit trail: read-only, written only by crm.services.customer_set_consent."""

    customer_lookup = "customer__"
    list_display = ["changed_at", "customer", "kind", "value", "source", "changed_by", "note"]
    list_filter = ["kind", "value", "source", "changed_at"]
    list_select_related = ["customer", "changed_by"]
    search_fields = ["customer__first_name", "customer__last_name", "note"]
    date_hierarchy = "changed_at"

    def has_delete_permission(self, request, obj=None):
        # A consent record goes only with its customer (when the customer is
        # deleted, Django asks this for each of their rows). Its own delete
        # page and the bulk action are closed, so the history cannot be pruned.
        return obj is not None and request.user.has_perm("crm.delete_customer")

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied("Consent history is deleted only together with its customer.")


@admin.register(DealershipProfile)
class DealershipProfileAdmin(admin.ModelAdmin):
    fieldsets = [
        (None, {"fields": ["name", "main_phone", "transfer_phone", "timezone"]}),
        ("Address", {"fields": ["street", "city", "state", "postal_code"]}),
        ("Phone agent", {"fields": ["greeting"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # There is only one profile: the list would be a page with one link.
        profile = dealership_profile()
        return HttpResponseRedirect(reverse("admin:crm_dealershipprofile_change", args=[profile.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = dealership_profile()
        if request.method == "GET" and profile.timezone != settings.TIME_ZONE:
            messages.warning(
                request,
                f"The profile's time zone ({profile.timezone}) differs from the TIME_ZONE setting "
                f"({settings.TIME_ZONE}) that the server schedules in. Make them the same.",
            )
        return super().change_view(request, object_id, form_url, extra_context)
