from django.core.management.base import BaseCommand, CommandError

from portal.audit.selectors import audit_verify


class Command(BaseCommand):
    help = (
        "Verify the audit trail: checkpoint signatures, then the hash chain. Exits non-zero "
        "naming the first bad event or checkpoint."
    )

    def handle(self, *args, **opts) -> None:
        check = audit_verify()
        if not check.ok:
            where = (
                f"event {check.first_bad_seq}"
                if check.first_bad_seq is not None
                else f"checkpoint {check.bad_checkpoint_id}"
            )
            raise CommandError(
                f"audit trail broken at {where}: {check.problem} "
                f"({check.checked} events verified before it)"
            )
        start = f" after purge anchor at event {check.starts_after}" if check.starts_after else ""
        self.stdout.write(
            f"audit chain ok: {check.checked} events{start}, {check.checkpoints} signed checkpoints"
        )
