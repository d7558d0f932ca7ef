"""A request id that follows one question from nginx through the web process into Celery tasks.

The id comes from the X-Request-ID header when a trusted proxy set one (nginx does:
``proxy_set_header X-Request-ID $request_id``), otherwise a fresh one. It lives in a context
variable, so every log line of the request carries it (``RequestIdFilter``), and it is copied into
the headers of every task the request publishes, where the worker puts it back into the same
context variable for the task's own log lines.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# Header values travel into logs: accept only what a proxy or client library would generate,
# so nobody can inject log lines or megabytes through it.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

_current: ContextVar[str] = ContextVar("request_id", default="")


def request_id_get() -> str:
    return _current.get()


def request_id_set(value: str):
    """Set the current id; returns the token to reset it with."""
    return _current.set(value)


def request_id_reset(token) -> None:
    _current.reset(token)


def request_id_from_header(value: str | None) -> str:
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


# --- Celery: publish side and worker side ---------------------------------------------------------


def task_headers_add(headers: dict | None = None, **_kwargs) -> None:
    """before_task_publish: stamp the request id into the outgoing message's headers."""
    current = request_id_get()
    if headers is not None and current and TASK_HEADER not in headers:
        headers[TASK_HEADER] = current


_task_tokens: dict[str, object] = {}


def task_request_id_enter(task_id: str | None = None, task=None, **_kwargs) -> None:
    """task_prerun: adopt the publishing request's id (or the task id for beat's own tasks)."""
    incoming = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if not incoming and task is not None:
        incoming = (getattr(task.request, "headers", None) or {}).get(TASK_HEADER)
    value = incoming if incoming and _VALID.match(str(incoming)) else f"task-{task_id}"
    _task_tokens[task_id or ""] = request_id_set(value)


def task_request_id_exit(task_id: str | None = None, **_kwargs) -> None:
    """task_postrun: restore the context (a pool process runs many tasks one after another)."""
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            request_id_reset(token)
        except ValueError:  # reset from another context (threads pool): just clear it
            request_id_set("")


def celery_signals_connect() -> None:
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(task_headers_add, weak=False, dispatch_uid="request_id_publish")
    task_prerun.connect(task_request_id_enter, weak=False, dispatch_uid="request_id_prerun")
    task_postrun.connect(task_request_id_exit, weak=False, dispatch_uid="request_id_postrun")
