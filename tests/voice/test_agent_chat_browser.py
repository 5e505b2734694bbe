"""The "Try the agent" page in a real browser: headless Chromium (selenium) against the real Daphne the voice tests
run, signed in through the admin's login form, the chat's socket through the project's own ASGI routing (session
and origin checks included), no model key (so the offline agent answers, as it would for a dealership with no
OpenAI key) and our real tools over the database.

Skipped when Chromium or its driver is missing (Debian: chromium and chromium-driver; CI installs them).
"""

from __future__ import annotations

import shutil

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from scheduling.models import Appointment, AppointmentEvent
from tests.standins.fixtures import fake_deepgram, fake_openai, fake_twilio  # noqa: F401  (voice_live's)
from tests.voice.test_agent_calls import CALLER, ZONE, dana, dealership, next_tuesday  # noqa: F401

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PASSWORD = "correct-horse-battery"
WAIT_SECONDS = 90  # a bound for a broken page on a busy machine, not a measure

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)"),
    pytest.mark.django_db(transaction=True),  # the server's threads see only committed rows
]  # fmt: skip


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1600"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT_SECONDS)
    yield driver
    driver.quit()


@pytest.fixture
def advisor(db):
    """Staff who may keep the chat's changes (the groups from the migrations are gone after a flush)."""
    user = get_user_model().objects.create_user("ada-advisor", "ada@example.com", PASSWORD, is_staff=True)
    for name in ("voice.view_call", "crm.view_customer", "scheduling.add_appointment", "scheduling.change_appointment",
                 "crm.add_customer", "crm.change_customer", "crm.add_vehicle"):  # fmt: skip
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def test_staff_book_an_appointment_by_chatting_with_the_agent(voice_live, browser, advisor, dealership, dana,
                                                               settings):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    customer, civic = dana
    settings.OPENAI_API_KEY = ""  # no key at all: the offline agent answers
    day = next_tuesday()
    wait = WebDriverWait(browser, WAIT_SECONDS)
    base = f"http://127.0.0.1:{voice_live.port}"

    # Signed in through the admin's own form, sent on to the page.
    browser.get(f"{base}{reverse('admin:login')}?next={reverse('admin:voice_call_agent_chat')}")
    browser.find_element(By.NAME, "username").send_keys(advisor.username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD + Keys.ENTER)
    wait.until(lambda page: page.find_elements(By.ID, "chat-start-form"))

    # The customer, chosen by the number they call from; changes kept.
    browser.find_element(By.NAME, "phone").send_keys(CALLER)
    dry_run = browser.find_element(By.NAME, "dry_run")
    assert dry_run.is_selected(), "a dry run unless unticked"
    dry_run.click()
    browser.find_element(By.ID, "chat-start-button").click()
    wait.until(lambda page: page.find_element(By.ID, "chat-text").is_enabled())
    assert "Dana Whitfield" in browser.find_element(By.CLASS_NAME, "chat-status").text
    assert "Changes are real" in browser.find_element(By.CLASS_NAME, "chat-status").text

    def say(text: str, answer: str) -> None:
        box = browser.find_element(By.ID, "chat-text")
        box.send_keys(text + Keys.ENTER)
        wait.until(lambda page: answer in log_text() and page.find_element(By.ID, "chat-text").is_enabled())

    def log_text() -> str:
        return browser.find_element(By.ID, "chat-log").text

    def tool_box(name: str):
        return browser.find_element(By.CSS_SELECTOR, f".chat-tool[data-tool='{name}']")

    say(f"I need an oil change for my Civic on {day:%B} {day.day} in the afternoon", "Which would you like?")
    slots = tool_box("get_available_slots")
    assert "ok" in slots.get_attribute("class").split()
    assert '"part_of_day": "afternoon"' in slots.text and '"slots"' in slots.text
    say("the first one please", "Shall I book that?")
    assert not Appointment.objects.exists(), "nothing is booked before the read-back is agreed to"
    say("yes please", "You're all set")
    booked = tool_box("book_appointment")
    assert "ok" in booked.get_attribute("class").split()
    appointment = Appointment.objects.get(customer=customer)
    assert appointment.vehicle_id == civic.pk
    assert appointment.starts_at.astimezone(ZONE).date() == day and appointment.starts_at.astimezone(ZONE).hour >= 12
    assert voice_live.openai.chat_requests == [], "no model was asked"
    assert f"appointment {appointment.pk}" in booked.text, "a link to what the chat changed"
    event = AppointmentEvent.objects.get(appointment=appointment)
    assert (event.action, event.actor_kind) == ("booked", "phone_agent")
    lines = [line.text for line in browser.find_elements(By.CSS_SELECTOR, ".chat-caller, .chat-agent")]
    assert lines[0].startswith("caller") and "oil change" in lines[0] and lines[1].startswith("agent")
