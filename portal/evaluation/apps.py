from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "portal.evaluation"
    label = "evaluation"
    verbose_name = "Evaluation"
