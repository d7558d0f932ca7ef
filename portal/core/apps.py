from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "portal.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # The embedded SQLite database lives in PORTAL_DATA_DIR, and SQLite cannot create the
        # folder itself. Done here (start-up) rather than in settings (import time).
        database = settings.DATABASES["default"]
        if database["ENGINE"].endswith("sqlite3"):
            Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # -- observability (deployment issue): metrics of finished answers, request ids in tasks
        from django.db.models.signals import post_save

        from portal.core.metrics import answer_observe
        from portal.core.requestid import celery_signals_connect

        post_save.connect(answer_observe, sender="qa.Answer", dispatch_uid="answer_metrics")
        celery_signals_connect()
