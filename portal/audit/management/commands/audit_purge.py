from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import AuditChainBroken, audit_purge


class Command(BaseCommand):
    help = (
        "Delete audit events older than AUDIT_RETENTION_DAYS, up to the newest signed checkpoint "
        "that is old enough, leaving a signed purge anchor the remaining chain starts from."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would go; change nothing"
        )

    def handle(self, *args, dry_run: bool = False, **opts) -> None:
        try:
            plan = audit_purge(dry_run=dry_run)
        except AuditChainBroken as exc:
            raise CommandError(f"{exc}; nothing was purged (run manage.py audit_verify)") from exc
        cutoff = plan.cutoff.date().isoformat()
        if plan.through_seq is None:
            self.stdout.write(
                f"nothing to purge: no signed checkpoint before {cutoff} "
                f"(retention {settings.AUDIT_RETENTION_DAYS} days)"
            )
        elif dry_run:
            self.stdout.write(
                f"would delete {plan.events} events through event {plan.through_seq} "
                f"(checkpoint #{plan.checkpoint_id}, older than {cutoff})"
            )
        else:
            self.stdout.write(
                f"deleted {plan.events} events through event {plan.through_seq}; "
                f"purge anchor #{plan.anchor_id}"
            )
