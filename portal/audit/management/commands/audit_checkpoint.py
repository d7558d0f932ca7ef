from django.core.management.base import BaseCommand, CommandError

from portal.audit.services import AuditChainBroken, audit_checkpoint_create


class Command(BaseCommand):
    help = "Sign the current head of the audit chain (what the periodic beat task does)."

    def handle(self, *args, **opts) -> None:
        try:
            checkpoint = audit_checkpoint_create()
        except AuditChainBroken as exc:
            raise CommandError(f"{exc}; no checkpoint was written") from exc
        if checkpoint is None:
            self.stdout.write("no new events since the last checkpoint")
        else:
            self.stdout.write(f"checkpoint #{checkpoint.pk} signs event {checkpoint.seq}")
