"""Model fields that store one canonical spelling whatever the user typed."""

import re

from django.db import models

from crm.phones import normalize_phone
from crm.vin import normalize_vin, validate_vin


class NormalizedCharField(models.CharField):
    """A CharField that normalizes in forms (to_python) and on every save (pre_save)."""

    def normalize(self, value: str) -> str:
        raise NotImplementedError

    def to_python(self, value):
        value = super().to_python(value)
        return self.normalize(value) if value else value

    def formfield(self, **kwargs):
        # People type separators ("(602) 555-0100", "1HG CM826..."): let the raw
        # text through the form, the normalized value is checked against max_length.
        kwargs.setdefault("max_length", max(self.max_length * 2, 32))
        return super().formfield(**kwargs)

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value:
            value = self.normalize(value)
            setattr(model_instance, self.attname, value)
        return value


class PhoneNumberField(NormalizedCharField):
    """A phone number stored in E.164; invalid numbers raise a ValidationError."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 16)  # E.164: "+" and at most 15 digits
        super().__init__(*args, **kwargs)

    def normalize(self, value: str) -> str:
        return normalize_phone(value)


class VinField(NormalizedCharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 17)
        kwargs.setdefault("validators", [validate_vin])
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        # The length check belongs to validate_vin (a clearer message than max_length).
        return normalize_vin(value) if isinstance(value, str) else value

    def normalize(self, value: str) -> str:
        return normalize_vin(value)


class PlateField(NormalizedCharField):
    """License plates compared without spaces or dashes ("ABC-1234" == "abc 1234")."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 10)
        super().__init__(*args, **kwargs)

    def normalize(self, value: str) -> str:
        return re.sub(r"[\s\-]", "", value).upper()
