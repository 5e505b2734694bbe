"""Twilio's webhooks, under /voice/ (configure these URLs, with PUBLIC_BASE_URL, on the Twilio number)."""

from django.urls import path

from voice import webhooks

app_name = "voice"

urlpatterns = [
    path("incoming/", webhooks.incoming, name="incoming"),
    path("status/", webhooks.status, name="status"),
    path("fallback/", webhooks.fallback, name="fallback"),
    path("transfer-result/", webhooks.transfer_result, name="transfer_result"),
    path("whisper/", webhooks.whisper, name="whisper"),
    path("message/", webhooks.message, name="message"),
    path("message-transcript/", webhooks.message_transcript, name="message_transcript"),
    # Reminder calls we place: answered (Twilio fetches the TwiML), and the asynchronous machine detection.
    path("reminder-answer/", webhooks.reminder_answer, name="reminder_answer"),
    path("machine-detection/", webhooks.machine_detection, name="machine_detection"),
]
