from django.apps import AppConfig

from portal.core.health import readiness_probe_register
from portal.core.metrics import state_collector_register


class KnowledgeConfig(AppConfig):
    name = "portal.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from portal.knowledge import probes  # models: not importable before the registry is

        # The index check reads the database: while it is down, readiness says so once.
        readiness_probe_register("index", probes.index_probe, needs_database=True)
        state_collector_register("knowledge", probes.KnowledgeStateCollector())
