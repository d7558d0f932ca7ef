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
        from portal.core import checks  # noqa: F401 - the deploy checks register on import

        # -- observability (deployment issue): request ids in tasks. The apps above register
        # their own readiness probes, scrape-time metrics and answer metrics in their ready().
        from portal.core.requestid import celery_signals_connect

        celery_signals_connect()
