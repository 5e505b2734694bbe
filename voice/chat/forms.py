"""Who calls in a chat and whether its changes are kept: the page's form, checked again on the socket."""

from __future__ import annotations

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect

from crm.models import Customer
from crm.phones import format_phone, normalize_phone
from crm.selectors import customer_find_by_phone
from voice.chat.conversation import ChatSetup
from voice.chat.permissions import may_keep_changes
from voice.models import Call


class ChatStartForm(forms.Form):
    customer = forms.ModelChoiceField(
        Customer.objects.all(), required=False,
        help_text="Search by name, phone, plate or VIN. Leave empty for a caller who is not on file.",
    )  # fmt: skip
    phone = forms.CharField(
        label="Calling from", required=False, max_length=40,
        help_text="The caller ID. Empty: the customer's main number, or a withheld number for an unknown caller. "
                  "A customer's number alone picks that customer, as the phone line would.",
    )  # fmt: skip
    dry_run = forms.BooleanField(
        required=False, initial=True,
        help_text="In a dry run each reply's changes are undone when the reply ends: nothing is kept. "
                  "Untick it to make real changes, credited to the phone agent.",
    )  # fmt: skip

    def __init__(self, *args, user, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_site is not None:  # the page: the admin's own search-as-you-type box
            field = self.fields["customer"]
            field.widget = AutocompleteSelect(Call._meta.get_field("customer"), admin_site)
            field.widget.choices = field.choices
        self.may_keep_changes = may_keep_changes(user)
        if not self.may_keep_changes and admin_site is not None:  # the page: the box stays ticked
            self.fields["dry_run"].disabled = True
            self.fields["dry_run"].help_text = (
                "Each reply's changes are undone when it ends. Keeping them needs permission to book "
                "appointments and to add and change customers."
            )

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize_phone(raw) if raw else ""

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if not data.get("dry_run") and not self.may_keep_changes:
            raise forms.ValidationError("Keeping the changes needs permission to book appointments and to add and "
                                        "change customers: use a dry run.")  # fmt: skip
        customer, phone = data.get("customer"), data.get("phone", "")
        recognised = customer is None and bool(phone)
        if recognised:
            customer = customer_find_by_phone(phone)
        data["caller"], data["recognised"] = customer, recognised and customer is not None
        return data

    def setup(self) -> ChatSetup:
        """What the chat starts with (the form must be valid)."""
        data = self.cleaned_data
        customer = data["caller"]
        phone = data["phone"] or (customer.phone if customer is not None else "")
        if customer is None:
            label = f"an unknown caller from {format_phone(phone)}" if phone else "an unknown caller, number withheld"
        else:
            how = ", recognised by the number" if data["recognised"] else ""
            label = f"{customer.full_name}{how} ({format_phone(phone) or 'no number'})"
        return ChatSetup(customer_id=customer.pk if customer else None, phone=phone, dry_run=data["dry_run"],
                         caller=label)  # fmt: skip

    def start_message(self) -> dict:
        """The page's first socket message: the same fields, checked again by the consumer."""
        data = self.cleaned_data
        customer = data["customer"]
        return {"type": "start", "customer": customer.pk if customer else None, "phone": data["phone"],
                "dry_run": data["dry_run"]}  # fmt: skip


def setup_from_message(message: dict, user) -> ChatSetup:
    """A socket's start message as a chat's setup (in the database thread); ValueError says what is wrong."""
    customer = message.get("customer")
    data = {
        "customer": "" if customer is None else str(customer),
        "phone": message.get("phone") if isinstance(message.get("phone"), str) else "",
        "dry_run": message.get("dry_run") is not False,  # anything but an explicit false is a dry run
    }
    form = ChatStartForm(data, user=user)
    if not form.is_valid():
        problems = "; ".join(" ".join(errors) if name == "__all__" else f"{name}: {' '.join(errors)}"
                             for name, errors in form.errors.items())  # fmt: skip
        raise ValueError(f"cannot start: {problems}")
    return form.setup()
