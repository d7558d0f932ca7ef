"""Work is enqueued only after the transaction that created it commits."""

from django.db import transaction

from portal.core.jobs import enqueue_on_commit


class RecordingTask:
    """Stands in for the broker edge (Celery's apply_async), which this test does not own."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def apply_async(self, args=(), kwargs=None):
        self.sent.append((args, kwargs))


def test_enqueue_waits_for_commit(db, django_capture_on_commit_callbacks):
    task = RecordingTask()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(task, 41, flag=True)
        assert task.sent == []  # still inside the transaction: nothing sent yet
    assert task.sent == [((41,), {"flag": True})]


def test_rolled_back_work_is_never_enqueued(db, django_capture_on_commit_callbacks):
    task = RecordingTask()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                enqueue_on_commit(task, 7)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert task.sent == [] and callbacks == []
