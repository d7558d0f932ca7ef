"""gunicorn settings for the web process: `gunicorn -c deploy/gunicorn.conf.py portal.wsgi`."""

import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Each worker loads the embedder and the FAISS index once; preloading would share nothing useful
# (faiss/torch state is not fork-safe to share), so keep it off.
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Idle keep-alive connections are kept longer than nginx's upstream keepalive (60 s): if gunicorn
# closed first, a request sent on the closing connection would be reset (the first load test saw
# 1% resets with gunicorn's 2 s default and clients thinking 1-3 s between requests).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
# The proxy's request id in the access log, so a slow line there finds its application logs.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'

# Prometheus multiprocess mode: every worker writes its metrics to files in this folder and
# /metrics merges them. It must be empty when the master starts (stale files from a previous run
# would be summed in), and set before any worker imports prometheus_client.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "portal-prometheus")
)


def on_starting(server):
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def post_worker_init(worker):
    # Load the embedder, indexes, guard models and the LLM before this worker takes requests.
    from portal.qa.warmup import warm_up

    warm_up()


def child_exit(server, worker):
    # A dead worker's gauges must not linger in the merged view (counters are kept).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
