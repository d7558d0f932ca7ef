"""ASGI entry point: `make run` serves it with uvicorn, production with gunicorn's uvicorn worker
(deploy/gunicorn.conf.py). ASGI so the answer stream is an async view that holds no thread while
it waits for a generation slot (portal/qa/streaming.py); the other views run as before.

Outside production the static files are served here too (nginx serves them in production).
"""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_asgi_application()
if not settings.PRODUCTION:
    application = ASGIStaticFilesHandler(application)
