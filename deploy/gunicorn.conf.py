"""gunicorn settings for the web process: `gunicorn -c deploy/gunicorn.conf.py portal.wsgi`."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Each worker loads the embedder and the FAISS index once; preloading would share nothing useful
# (faiss/torch state is not fork-safe to share), so keep it off.
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"


def post_worker_init(worker):
    # Load the embedder, indexes, guard models and the LLM before this worker takes requests.
    from portal.qa.warmup import warm_up

    warm_up()
