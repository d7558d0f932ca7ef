from django.apps import AppConfig


class FinetuneConfig(AppConfig):
    name = "portal.finetune"
    label = "finetune"
    verbose_name = "Fine-tuning"
