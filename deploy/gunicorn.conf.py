"""gunicorn settings for the web process, which serves the ASGI application with uvicorn workers:

    gunicorn -c deploy/gunicorn.conf.py portal.asgi:application

(deploy/docker-entrypoint.sh's `web` role runs exactly this; `make run` serves the same
application with plain uvicorn.) gunicorn is the process manager (worker count, restarts,
graceful reloads, the Prometheus multiprocess hooks below); each worker is one uvicorn event loop.
"""

import os
import shutil
import tempfile
import time

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# ASGI: the answer stream is an async view that holds no thread while it waits for a generation
# slot (portal/qa/streaming.py). gunicorn's `threads` setting does not apply to this worker class:
# within a worker, concurrency is the event loop; synchronous views run in Django's sync thread and
# answers in a pool of ANSWER_STREAM_SLOTS threads. Scale with GUNICORN_WORKERS instead.
worker_class = "uvicorn_worker.UvicornWorker"
wsgi_app = "portal.asgi:application"  # the app when none is given on the command line
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Each worker loads the embedder and the FAISS index once; preloading would share nothing useful
# (faiss/torch state is not fork-safe to share), so keep it off.
preload_app = False
# With the uvicorn worker this is a heartbeat, not a request limit: a worker whose event loop has
# not checked in for this long is killed and replaced. A streamed answer may take longer.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Idle keep-alive connections are kept longer than nginx's upstream keepalive (60 s): if the worker
# closed first, a request sent on the closing connection would be reset (the first load test saw
# 1% resets with gunicorn's 2 s default and clients thinking 1-3 s between requests). The uvicorn
# worker takes it as its timeout_keep_alive.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The portal reads X-Forwarded-For and X-Forwarded-Proto itself (AUDIT_PROXY_COUNT,
# SECURE_PROXY_SSL_HEADER): uvicorn must not rewrite the client address or scheme from them, so
# REMOTE_ADDR stays the peer that connected (nginx), as the portal's settings expect.
forwarded_allow_ips = ""
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
# The proxy's request id in the access log, so a slow line there finds its application logs.
# Method and path only: never the query string (%(r)s and %(q)s would carry it). The uvicorn
# worker ignores gunicorn's access log, so post_worker_init writes these lines (atoms: h m U H s b
# B L T D M and {header}i / {header}o; %(r)s is "method path protocol", also without the query).
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s'

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
    # gunicorn calls this for every worker class, after the application is loaded and before the
    # worker's loop starts (for the uvicorn worker: before its event loop exists, so the warm-up's
    # synchronous ORM calls are allowed). Load the embedder, indexes, guard models and the LLM
    # client before this worker takes requests.
    from portal.qa.warmup import warm_up

    warm_up()
    if _is_asgi_worker(worker) and worker.cfg.accesslog:
        import logging

        # uvicorn's own access line carries the query string and neither the duration nor the
        # request id: replace it (a logger without handlers makes uvicorn skip the line).
        uvicorn_access = logging.getLogger("uvicorn.access")
        uvicorn_access.handlers = []
        uvicorn_access.propagate = False
        worker.wsgi = access_logged(worker.wsgi, worker.log.access_log, access_log_format)


def child_exit(server, worker):
    # A dead worker's gauges must not linger in the merged view (counters are kept).
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# --- the access log under the uvicorn worker ------------------------------------------------------


def _is_asgi_worker(worker) -> bool:
    try:
        from uvicorn_worker import UvicornWorker
    except ImportError:
        return False
    return isinstance(worker, UvicornWorker)


def access_logged(app, logger, log_format: str):
    """``app`` (ASGI) writing one ``log_format`` line to ``logger`` per HTTP request, when its
    response is finished (for a stream: when the stream ends, so the duration is the whole
    answer). Only the path is logged, never the query string."""
    from gunicorn.glogging import SafeAtoms

    async def logged(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        started = time.perf_counter()
        response = {"status": None, "sent": 0, "headers": []}

        async def recording_send(message):
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                response["sent"] += len(message.get("body", b""))
            await send(message)

        try:
            await app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            try:
                atoms = _atoms(scope, response, elapsed)
                logger.info(log_format, SafeAtoms(atoms))
            except Exception:  # a log line must never break a response
                logger.exception("access log line failed")

    return logged


def _atoms(scope, response, elapsed: float) -> dict:
    def decoded(headers):
        return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in headers}

    client = scope.get("client")
    method = scope.get("method", "-")
    path = scope.get("path", "-")  # decoded, without the query string
    protocol = f"HTTP/{scope.get('http_version', '1.1')}"
    seconds = int(elapsed)
    microseconds = int((elapsed - seconds) * 1_000_000)
    atoms = {
        "h": client[0] if client else "-",
        "l": "-",
        "u": "-",
        "t": time.strftime("[%d/%b/%Y:%H:%M:%S %z]"),
        "r": f"{method} {path} {protocol}",
        # No response started: the server answers 500 for an application error.
        "s": response["status"] if response["status"] is not None else 500,
        "m": method,
        "U": path,
        "H": protocol,
        "b": str(response["sent"]) if response["sent"] else "-",
        "B": response["sent"],
        "T": seconds,
        "D": seconds * 1_000_000 + microseconds,
        "M": int(elapsed * 1000),
        "L": f"{seconds}.{microseconds:06d}",
        "p": f"<{os.getpid()}>",
    }
    atoms.update({f"{{{k}}}i": v for k, v in decoded(scope.get("headers", [])).items()})
    atoms.update({f"{{{k}}}o": v for k, v in decoded(response["headers"]).items()})
    return atoms
