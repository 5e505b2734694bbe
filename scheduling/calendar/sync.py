"""Mirror one appointment to the dealership's Google Calendar: one event per appointment.

The event id is derived from the appointment's UUID, so creating it twice is
harmless (Google answers 409 and we update instead), and deleting it twice too
(404/410 count as deleted). Whatever order tasks for one appointment run in,
each re-reads the appointment and makes the event match it as it is now.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from crm.phones import mask_phone
from scheduling import services
from scheduling.calendar import google
from scheduling.calendar.errors import CalendarError
from scheduling.models import Appointment, AppointmentStatus

# Statuses whose event is removed; every other status keeps one. A completed
# appointment stays on the calendar as history.
REMOVED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)

# First key of the two-key PostgreSQL advisory lock that serialises syncs of one appointment.
_LOCK_NAMESPACE = 0x43414C  # "CAL"


def event_id_for(appointment: Appointment) -> str:
    """32 hex digits: inside Google's alphabet for event ids (a-v, 0-9; 5 to 1024 characters)."""
    return appointment.uuid.hex


def _vehicle_name(appointment: Appointment) -> str:
    vehicle = appointment.vehicle
    return " ".join(str(part) for part in (vehicle.year, vehicle.make, vehicle.model) if part)


def event_body(appointment: Appointment) -> dict:
    """The whole event as it should be (sent as is on insert and as a full replacement on update)."""
    service_names = [s.name for s in appointment.service_types.all()]
    customer = appointment.customer
    vehicle = _vehicle_name(appointment)
    summary = f"{', '.join(service_names) or 'Service'} – {customer.full_name}"
    if vehicle:
        summary += f" ({vehicle})"

    lines = [
        f"Services: {', '.join(service_names) or '-'}",
        f"Vehicle: {appointment.vehicle}",
        f"Transport: {appointment.get_transport_display()}",
        f"Bay: {appointment.bay}",
        f"Status: {appointment.get_status_display()}",
        # The calendar may be shared more widely than the CRM: the number stays masked.
        f"Customer phone: {mask_phone(customer.phone) or '-'}",
    ]
    if appointment.notes.strip():
        lines.append(f"Notes: {appointment.notes.strip()}")
    lines.append(f"CRM appointment #{appointment.pk}")

    zone = ZoneInfo(settings.TIME_ZONE)
    return {
        "id": event_id_for(appointment),
        "summary": summary,
        "description": "\n".join(lines),
        "start": {"dateTime": appointment.starts_at.astimezone(zone).isoformat(), "timeZone": settings.TIME_ZONE},
        "end": {"dateTime": appointment.ends_at.astimezone(zone).isoformat(), "timeZone": settings.TIME_ZONE},
        # Brings back an event deleted earlier under the same id (Google keeps
        # the id of a deleted event, so the insert gets 409 and we update).
        "status": "confirmed",
        # Mirrored appointments must not count as busy time: busy time read
        # back from this calendar blocks the whole shop (every bay), so our own
        # bookings, one bay each, would otherwise close the shop around them.
        "transparency": "transparent",
        "extendedProperties": {
            "private": {
                "appointment_id": str(appointment.pk),
                "appointment_uuid": str(appointment.uuid),
            }
        },
    }


def _lock(appointment_id: int) -> None:
    """Hold, until the transaction ends, a lock that only other syncs of this appointment wait for."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, appointment_id % 2_147_483_647]
        )


def sync_appointment(appointment_id: int, calendar: google.GoogleCalendar | None = None) -> str:
    """Make the calendar match the appointment now; returns what happened in a word or two.

    "not configured", "missing", "created", "updated" or "deleted". Raises
    CalendarTransientError (retry later) or CalendarError (retrying won't help).
    """
    if calendar is None:
        calendar = google.calendar_from_settings()
        if calendar is None:
            return "not configured"
    # Two tasks for one appointment (booked, then cancelled a moment later)
    # must not interleave, or the insert could land after the delete.
    with transaction.atomic():
        _lock(appointment_id)
        appointment = (
            Appointment.objects.select_related("customer", "vehicle", "bay")
            .prefetch_related("service_types")
            .filter(pk=appointment_id)
            .first()
        )
        if appointment is None:
            return "missing"
        event_id = event_id_for(appointment)
        if appointment.status in REMOVED_STATUSES:
            calendar.delete_event(event_id)
            services.appointment_record_calendar_sync(appointment_id=appointment.pk, event_id="")
            return "deleted"

        body = event_body(appointment)
        try:
            calendar.insert_event(body)
            outcome = "created"
        except CalendarError as error:
            if getattr(error, "status", None) != 409:
                raise
            calendar.update_event(event_id, body)
            outcome = "updated"
        services.appointment_record_calendar_sync(appointment_id=appointment.pk, event_id=event_id)
        return outcome

