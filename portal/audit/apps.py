from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from portal.audit import checks, receivers  # noqa: F401 - checks register on import

        receivers.connect()
