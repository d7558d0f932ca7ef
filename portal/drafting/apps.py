from django.apps import AppConfig


class DraftingConfig(AppConfig):
    name = "portal.drafting"
    label = "drafting"
    verbose_name = "Staff drafting"
