from django.db import models


class EvaluationRun(models.Model):
    """One run of ``manage.py evaluate``: its report (the JSON the command writes) and plot."""

    kind = models.CharField(max_length=20)  # "retrieval", later "answers", "safety"
    dataset = models.CharField(max_length=200)
    split = models.CharField(max_length=10)
    n_questions = models.PositiveIntegerField()
    report = models.JSONField()
    plot_path = models.CharField(max_length=500, blank=True)
    # The recall@k PNG itself, so the history page shows it after artifact folders are cleaned
    # (and the page never serves files by a path read from the database).
    plot_png = models.BinaryField(blank=True, default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.dataset}/{self.split} {self.created_at:%Y-%m-%d %H:%M}"
