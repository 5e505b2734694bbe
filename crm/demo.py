"""Demo data for the CRM: the dealership's profile, customers and their vehicles.

Deterministic (a fixed seed) and idempotent (a customer whose phone exists is
left alone), so `manage.py load_demo` can run on every start.
"""

import random

from django.db import transaction

from crm import services
from crm.models import ConsentKind, ConsentSource, Customer, CustomerPhone, Vehicle
from crm.vin import vin_check_digit

SEED = 20261121
CUSTOMER_COUNT = 320

FIRST_NAMES = (
    "James Maria Robert Linda Michael Patricia David Jennifer William Elizabeth Richard Barbara Joseph Susan "
    "Thomas Jessica Carlos Sarah Daniel Karen Matthew Nancy Anthony Lisa Mark Betty Jose Sandra Steven Ashley "
    "Andrew Kimberly Joshua Emily Kevin Donna Brian Michelle Luis Carol Ryan Amanda Jacob Melissa Gary Deborah "
    "Nicholas Stephanie Eric Rebecca Jonathan Laura Juan Sharon Tuan Linh Wei Mei Priya Raj"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Tran Chen Patel Yazzie Begay Romero Ortiz"
).split()

# World manufacturer identifiers, body/engine codes and the models they build.
MAKES = {
    "Toyota": ("4T1", ["Camry", "Corolla", "RAV4", "Highlander", "Tacoma", "Tundra"]),
    "Honda": ("1HG", ["Accord", "Civic", "CR-V", "Pilot", "Odyssey"]),
    "Ford": ("1FT", ["F-150", "Explorer", "Escape", "Mustang", "Bronco"]),
    "Chevrolet": ("1GC", ["Silverado 1500", "Equinox", "Tahoe", "Malibu", "Traverse"]),
    "Nissan": ("1N4", ["Altima", "Rogue", "Sentra", "Frontier"]),
    "Hyundai": ("5NP", ["Elantra", "Sonata", "Tucson", "Santa Fe"]),
    "Subaru": ("4S4", ["Outback", "Forester", "Crosstrek"]),
    "Tesla": ("5YJ", ["Model 3", "Model Y"]),
    "Jeep": ("1C4", ["Grand Cherokee", "Wrangler", "Compass"]),
    "Kia": ("5XY", ["Sorento", "Telluride", "Sportage"]),
}
TRIMS = ["", "LE", "SE", "XLE", "EX", "EX-L", "Sport", "Limited", "Premium", "Touring", "Base"]
COLORS = ["White", "Black", "Silver", "Gray", "Blue", "Red", "Green", "Beige", "Brown"]
# Model-year codes at VIN position 10 (letters I, O, Q, U, Z and digit 0 are never used).
YEAR_CODES = {2014: "E", 2015: "F", 2016: "G", 2017: "H", 2018: "J", 2019: "K", 2020: "L",
              2021: "M", 2022: "N", 2023: "P", 2024: "R", 2025: "S", 2026: "T"}  # fmt: skip
VIN_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
# 555-0100..0199 is reserved for fiction in every North American area code.
AREA_CODES = ["602", "480", "623", "520", "928"]


def demo_phone_pool(rng: random.Random) -> list[str]:
    numbers = [f"+1{area}55501{n:02d}" for area in AREA_CODES for n in range(100)]
    rng.shuffle(numbers)
    return numbers


def demo_vin(rng: random.Random, wmi: str, year: int) -> str:
    body = "".join(rng.choice(VIN_LETTERS) for _ in range(5))
    tail = YEAR_CODES[year] + rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + f"{rng.randrange(10**6):06d}"
    draft = wmi + body + "0" + tail
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def demo_plate(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
    return f"{letters}{rng.randrange(10**4):04d}"


def load(*, stdout=None) -> dict[str, int]:
    rng = random.Random(SEED)
    services.dealership_profile_update(
        name="Saguaro Motors Service",
        main_phone="+16025550100",
        transfer_phone="+16025550101",
        street="4410 E Camelback Rd",
        city="Phoenix",
        state="AZ",
        postal_code="85018",
        greeting=(
            "Thanks for calling Saguaro Motors Service. I'm the automated assistant, and this call is recorded. "
            "How can I help you today?"
        ),
    )
    # The dealership's own numbers are not customers.
    phones = [p for p in demo_phone_pool(rng) if p not in {"+16025550100", "+16025550101"}]
    created = {"customers": 0, "vehicles": 0}
    existing = set(Customer.objects.values_list("phone", flat=True)) | set(
        CustomerPhone.objects.values_list("number", flat=True)
    )
    for index in range(CUSTOMER_COUNT):
        # Draw everything for this customer before deciding to skip it, so the
        # sequence (and thus every later customer) is the same on every run.
        person = _draw_customer(rng, phones, index)
        if person["phone"] in existing:
            continue
        with transaction.atomic():
            customer = services.customer_create(
                first_name=person["first_name"],
                last_name=person["last_name"],
                phone=person["phone"],
                email=person["email"],
                preferred_language=person["language"],
                other_phones=person["other_phones"],
                consents=person["consents"],
                consent_source=ConsentSource.IMPORT,
            )
            for vehicle in person["vehicles"]:
                if not Vehicle.objects.filter(vin=vehicle["vin"]).exists():
                    services.vehicle_create(customer=customer, **vehicle)
                    created["vehicles"] += 1
        created["customers"] += 1
    if stdout:
        stdout.write(f"crm: {created['customers']} customers and {created['vehicles']} vehicles added")
    return created


def _draw_customer(rng: random.Random, phones: list[str], index: int) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    phone = phones[index]
    # Every seventh customer also gave a second number (work or a spouse's mobile).
    other = [phones[CUSTOMER_COUNT + index // 7]] if index % 7 == 0 else []
    vehicles = []
    for _ in range(rng.choices([1, 2, 3], weights=[70, 25, 5])[0]):
        make = rng.choice(list(MAKES))
        wmi, models = MAKES[make]
        year = rng.randint(2014, 2026)
        vehicles.append(
            {
                "vin": demo_vin(rng, wmi, year),
                "year": year,
                "make": make,
                "model": rng.choice(models),
                "trim": rng.choice(TRIMS),
                "plate": demo_plate(rng),
                "plate_state": "AZ",
                "mileage": max(5, (2026 - year) * rng.randint(6000, 15000) + rng.randint(0, 5000)),
                "color": rng.choice(COLORS),
            }
        )
    reminder = rng.random() < 0.85
    return {
        "first_name": first,
        "last_name": last,
        "phone": phone,
        "email": f"{first}.{last}{index}@example.com".lower(),
        "language": "es" if rng.random() < 0.12 else "en",
        "other_phones": other,
        "consents": {
            ConsentKind.REMINDER_CALLS: reminder,
            ConsentKind.RECORDING: rng.random() < 0.9,
            ConsentKind.SMS: rng.random() < 0.6,
            ConsentKind.DO_NOT_CALL: (not reminder) and rng.random() < 0.3,
        },
        "vehicles": vehicles,
    }
