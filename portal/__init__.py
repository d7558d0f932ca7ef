"""The Django project: settings, Celery app and one app per domain concept."""

from portal.celery import app as celery_app

__all__ = ("celery_app",)
