import os
import threading

from django.apps import AppConfig
from django.db.models.signals import post_save

from portal.core.health import readiness_probe_register
from portal.core.metrics import answer_observe


class QaConfig(AppConfig):
    name = "portal.qa"
    label = "qa"
    verbose_name = "Questions and answers"

    def ready(self) -> None:
        from portal.qa import probes  # models: not importable before the registry is

        readiness_probe_register("model", probes.model_probe)
        # Answer metrics (step latencies, outcomes, tokens/s) once an answer is finished.
        post_save.connect(answer_observe, sender="qa.Answer", dispatch_uid="answer_metrics")
        # The dev server (make run) sets ANSWER_WARMUP=1; gunicorn warms in post_worker_init.
        if os.environ.get("ANSWER_WARMUP") == "1":
            from portal.qa.warmup import warm_up

            threading.Thread(target=warm_up, name="answer-warmup", daemon=True).start()
