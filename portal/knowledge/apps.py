from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "portal.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"
