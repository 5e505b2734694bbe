class CalendarError(Exception):
    """The calendar refused a request for a reason retrying will not fix (bad credentials, bad id)."""

    status: int | None = None  # the HTTP status, when there was a response


class CalendarTransientError(CalendarError):
    """Rate limited (429), a server error (5xx) or the network: worth retrying later."""
