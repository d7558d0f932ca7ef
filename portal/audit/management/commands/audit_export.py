import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from portal.audit.export import FORMATS, export_lines
from portal.audit.selectors import AuditFilters, audit_export
from portal.audit.services import audit_record


def _when(value: str | None, name: str) -> dt.date | dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value) if "T" in value or " " in value else parse_date(value)
    if parsed is None:
        raise CommandError(f"--{name} must be a date (YYYY-MM-DD) or an ISO datetime: {value!r}")
    return parsed


class Command(BaseCommand):
    help = "Export audit events as CSV or JSON lines, with filters. The export is itself audited."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--since", help="first day (YYYY-MM-DD) or ISO datetime, inclusive")
        parser.add_argument("--until", help="last day (YYYY-MM-DD) or ISO datetime, inclusive")
        parser.add_argument("--action", default="", help="action prefix, e.g. knowledge.")
        parser.add_argument("--actor", default="", help="username of the acting user")
        parser.add_argument("--out", help="file to write (default: standard output)")

    def handle(self, *args, **opts) -> None:
        filters = AuditFilters(
            since=_when(opts["since"], "since"),
            until=_when(opts["until"], "until"),
            action=opts["action"],
            actor=opts["actor"],
        )
        fmt = opts["format"]
        rows = 0

        def counted():
            nonlocal rows
            for row in audit_export(filters):
                rows += 1
                yield row

        if opts["out"]:
            with open(opts["out"], "w", encoding="utf-8", newline="") as out:
                out.writelines(export_lines(counted(), fmt))
        else:
            for line in export_lines(counted(), fmt):
                self.stdout.write(line, ending="")
        audit_record(
            action="audit.export",
            detail={**filters.as_detail(), "format": fmt, "rows": rows, "via": "command"},
        )
        if opts["out"]:
            self.stderr.write(f"{rows} events written to {opts['out']}")
