"""Parse an untrusted file in a separate, resource-limited interpreter.

A plain subprocess rather than ``multiprocessing``: this runs inside Celery
prefork workers, whose daemonic processes may not start multiprocessing
children. The child gets an address-space limit (RLIMIT_AS) and a CPU-time
limit, and the parent kills it at the wall-clock timeout, so a hostile PDF that
makes PDFium loop or allocate can only take the child down with it.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from ingestion.errors import (
    EmptyFile,
    FileTooLarge,
    IngestionError,
    ParseResourceLimit,
    ParserFailed,
    ParseTimeout,
    error_for_code,
    human_size,
)
from ingestion.types import ParsedDocument, ParseLimits

_DEFAULT_LIMITS = ParseLimits()
# The directory holding the ``ingestion`` package, so ``-m ingestion.child``
# resolves to this code whatever the caller's working directory.
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _limit_resources(limits: ParseLimits):
    cpu_s = max(1, math.ceil(limits.timeout_s)) + 1

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        # Soft limit sends SIGXCPU; the hard limit one second later is SIGKILL.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def parse_file_isolated(
    path: str | os.PathLike[str],
    *,
    filename: str = "",
    limits: ParseLimits = _DEFAULT_LIMITS,
) -> ParsedDocument:
    """Parse ``path`` in a child process and return the document or raise its error.

    Raises the same ``IngestionError`` subclass the child raised, plus
    ``ParseTimeout`` when the wall-clock limit is hit and ``ParseResourceLimit``
    when the child dies from a signal or runs out of memory.
    """
    abs_path = Path(path).resolve()
    size = abs_path.stat().st_size
    # Checked here too so an oversized file is refused without starting a child.
    if size > limits.max_bytes:
        raise FileTooLarge(
            f"The file is {human_size(size)}; the limit is {human_size(limits.max_bytes)}. "
            "Split it into smaller files or remove embedded images, then upload again."
        )
    if size == 0:
        raise EmptyFile("The file is empty (0 bytes); check the upload and try again.")
    request = json.dumps(
        # The stored file's own name is the next best hint (Markdown vs text).
        {"path": str(abs_path), "filename": filename or abs_path.name, "limits": limits.to_dict()}
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ingestion.child"],
            input=request.encode(),
            capture_output=True,
            timeout=limits.timeout_s,
            # preexec_fn is only unsafe when other threads may hold locks at
            # fork time; the rlimits must be set before the child's exec.
            preexec_fn=_limit_resources(limits),
            cwd=str(_PACKAGE_ROOT),
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ParseTimeout(
            f"Parsing took longer than {limits.timeout_s:g} seconds and was stopped. The file "
            "may be very large or malformed; split it or re-export it and upload again."
        ) from exc
    return _reply_to_document(proc)


def _reply_to_document(proc: subprocess.CompletedProcess[bytes]) -> ParsedDocument:
    try:
        reply = json.loads(proc.stdout)
    except ValueError:
        reply = None
    if isinstance(reply, dict) and reply.get("ok") is True:
        return ParsedDocument.from_dict(reply["document"])
    if isinstance(reply, dict) and reply.get("ok") is False:
        raise error_for_code(str(reply.get("code")), str(reply.get("message")))
    raise _crash_error(proc)


def _crash_error(proc: subprocess.CompletedProcess[bytes]) -> IngestionError:
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode < 0:
        sig = -proc.returncode
        if sig == signal.SIGXCPU:
            return ParseTimeout(
                "Parsing used more CPU time than allowed and was stopped. The file may be "
                "malformed; re-export it and upload again."
            )
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        return ParseResourceLimit(
            f"The parser was killed by {name} while reading this file, usually because it "
            "exceeded its memory limit. Split or simplify the file and upload again."
        )
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr or "bad_alloc" in stderr:
        return ParseResourceLimit(
            "The parser ran out of memory on this file (limit reached). Split the file or "
            "simplify it and upload again."
        )
    tail = stderr.strip().splitlines()[-1:] or ["no output"]
    return ParserFailed(
        f"The parser exited with status {proc.returncode} without a result ({tail[0][:200]})."
    )
