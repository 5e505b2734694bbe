"""Reminder calls' webhooks, under /reminders/ (the dispatcher gives Twilio these URLs with each call)."""

from django.urls import path

from reminders import webhooks

app_name = "reminders"

urlpatterns = [
    path("status/", webhooks.status, name="status"),
]
