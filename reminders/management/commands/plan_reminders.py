"""Plan the reminder calls of one day's appointments, or show what planning would do.

    manage.py plan_reminders                          # tomorrow (the dealership's zone)
    manage.py plan_reminders --date 2027-03-16 --dry-run

Prints who would be called (name, number masked to its last 4 digits) and why the others are skipped.
Without --dry-run it creates the rows that do not exist yet; running it again creates nothing new.
"""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from reminders.planning import Plan, PlanEntry, plan_reminders, tomorrow
from scheduling.selectors import dealership_zone


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--date {raw!r}: give the day as YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Plan the reminder calls for a day's appointments (default: tomorrow); --dry-run only prints."

    def add_arguments(self, parser):
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="the appointments' day (default: tomorrow)")
        parser.add_argument("--dry-run", action="store_true", help="print the decisions, write nothing")

    def handle(self, *args, **options):
        day = _day(options["date"]) if options["date"] else tomorrow()
        plan = plan_reminders(day, dry_run=options["dry_run"])
        mode = " - dry run, nothing written" if plan.dry_run else ""
        self.stdout.write(f"Reminder calls for {day:%A} {day.isoformat()} ({dealership_zone().key}){mode}")
        for title, entries in (("To call", plan.queued), ("Skipped", plan.skipped)):
            self.stdout.write(f"\n{title} ({len(entries)}):")
            for entry in entries:
                self.stdout.write(self._line(entry))
        self.stdout.write("\n" + self._summary(plan))

    @staticmethod
    def _line(entry: PlanEntry) -> str:
        clock = entry.starts_at.astimezone(dealership_zone())
        number = entry.phone or "no number"
        line = f"  {clock:%H:%M}  #{entry.appointment_id:<7} {entry.customer:<30.30} {number:<10} {entry.reason_label}"
        return line.rstrip()

    @staticmethod
    def _summary(plan: Plan) -> str:
        head = f"{plan.total} appointment(s): {len(plan.queued)} to call, {len(plan.skipped)} skipped"
        if plan.dry_run:
            return f"{head}; would create {plan.total - plan.existing} new row(s), {plan.existing} already planned."
        return f"{head}; {plan.created} new row(s), {plan.existing} already planned."
