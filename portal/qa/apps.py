import os
import threading

from django.apps import AppConfig


class QaConfig(AppConfig):
    name = "portal.qa"
    label = "qa"
    verbose_name = "Questions and answers"

    def ready(self) -> None:
        # The dev server (make run) sets ANSWER_WARMUP=1; gunicorn warms in post_worker_init.
        if os.environ.get("ANSWER_WARMUP") == "1":
            from portal.qa.warmup import warm_up

            threading.Thread(target=warm_up, name="answer-warmup", daemon=True).start()
