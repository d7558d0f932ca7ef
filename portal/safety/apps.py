from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "portal.safety"
    label = "safety"
    verbose_name = "Safety"
