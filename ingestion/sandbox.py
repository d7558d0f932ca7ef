"""Parse an untrusted file in a separate, resource-limited interpreter.

A plain subprocess rather than ``multiprocessing``: this runs inside Celery
prefork workers, whose daemonic processes may not start multiprocessing
children. The child gets an address-space limit (RLIMIT_AS) and a CPU-time
limit, and the parent kills it at the wall-clock timeout, so a hostile PDF that
makes PDFium loop or allocate can only take the child down with it. Pages read
with OCR (ingestion/ocr.py) each add ``ocr_page_timeout_s`` to both limits: the
child announces them before its reply.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
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
# How the child's OCR budget announcements start (ingestion.child); replies start {"ok".
_EXTEND = b'{"extend_s"'
# The directory holding the ``ingestion`` package, so ``-m ingestion.child``
# resolves to this code whatever the caller's working directory.
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _limit_resources(limits: ParseLimits):
    cpu_s = max(1, math.ceil(limits.timeout_s)) + 1

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        # The child moves its soft CPU limit before each file and each OCR'd page, so it may
        # not be capped for good here; the soft limit's SIGXCPU still ends a runaway file.
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, resource.RLIM_INFINITY))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p
    )
    return env


def _check_size(path: Path, limits: ParseLimits) -> None:
    size = path.stat().st_size
    # Checked here too so an oversized file is refused without a child doing any work.
    if size > limits.max_bytes:
        raise FileTooLarge(
            f"The file is {human_size(size)}; the limit is {human_size(limits.max_bytes)}. "
            "Split it into smaller files or remove embedded images, then upload again."
        )
    if size == 0:
        raise EmptyFile("The file is empty (0 bytes); check the upload and try again.")


def _timeout_error(seconds: float) -> ParseTimeout:
    return ParseTimeout(
        f"Parsing took longer than {seconds:g} seconds and was stopped. The file "
        "may be very large or malformed; split it or re-export it and upload again."
    )


def parse_file_isolated(
    path: str | os.PathLike[str],
    *,
    filename: str = "",
    limits: ParseLimits = _DEFAULT_LIMITS,
) -> ParsedDocument:
    """Parse ``path`` in a child process of its own and return the document or raise its error.

    Raises the same ``IngestionError`` subclass the child raised, plus
    ``ParseTimeout`` when the wall-clock limit is hit and ``ParseResourceLimit``
    when the child dies from a signal or runs out of memory. The child is a
    one-file ``ParserProcess``, so both entry points share one protocol.
    """
    parser = ParserProcess(max_requests=1)
    try:
        return parser.parse(path, filename=filename, limits=limits)
    finally:
        parser.close()


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


class ParserProcess:
    """A long-lived sandboxed parser: the same limits as ``parse_file_isolated``
    without paying interpreter start-up (about 75 ms) for every file.

    In the ingestion benchmark that start-up was most of the pipeline's overhead
    beyond embedding. The child is replaced after a crash, a timeout, a memory
    error, a change of limits, or ``max_requests`` files (so leaks cannot build
    up); a hostile file still only takes the child down.
    """

    def __init__(self, *, max_requests: int = 200) -> None:
        self.max_requests = max_requests
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr = None
        self._limits: ParseLimits | None = None
        self._served = 0
        self._buffer = bytearray()  # what the child wrote past the last line read
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def _start(self, limits: ParseLimits) -> subprocess.Popen[bytes]:
        self.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "ingestion.child", "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            preexec_fn=_limit_resources(limits),
            cwd=str(_PACKAGE_ROOT),
            env=_child_env(),
        )
        self._limits, self._served, self._buffer = limits, 0, bytearray()
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout):
                if stream:
                    # A dead child's stdin may still buffer the request it never read; closing
                    # flushes it into the broken pipe.
                    with contextlib.suppress(BrokenPipeError):
                        stream.close()
        if self._stderr is not None:
            self._stderr.close()
        self._proc, self._stderr = None, None

    def _crashed(self) -> IngestionError:
        proc = self._proc
        proc.wait()
        self._stderr.seek(0)
        error = _crash_error(
            subprocess.CompletedProcess(proc.args, proc.returncode, b"", self._stderr.read())
        )
        self.close()
        return error

    def parse(
        self,
        path: str | os.PathLike[str],
        *,
        filename: str = "",
        limits: ParseLimits = _DEFAULT_LIMITS,
        on_page: Callable[[], None] | None = None,
    ) -> ParsedDocument:
        """``on_page`` is called as each page is sent to OCR (a long scan's sign of life)."""
        abs_path = Path(path).resolve()
        _check_size(abs_path, limits)
        request = json.dumps(
            {
                "path": str(abs_path),
                "filename": filename or abs_path.name,
                "limits": limits.to_dict(),
            }
        )
        with self._lock:
            fresh = False
            if (
                self._proc is None
                or self._proc.poll() is not None
                or self._limits != limits
                or self._served >= self.max_requests
            ):
                self._start(limits)
                fresh = True
            line = self._exchange(request, limits, on_page)
            if not line and not fresh:
                # A child that was already running may have died before it read this
                # request (killed from outside while idle): give the file one fresh child.
                self.close()
                self._start(limits)
                line = self._exchange(request, limits, on_page)
            if not line:
                raise self._crashed()
            self._served += 1
            reply = json.loads(line)
            if reply.get("ok") is True:
                return ParsedDocument.from_dict(reply["document"])
            if reply.get("code") == "resource_limit":
                self.close()  # the child exits after a MemoryError; start fresh next time
            raise error_for_code(str(reply.get("code")), str(reply.get("message")))

    def _exchange(
        self, request: str, limits: ParseLimits, on_page: Callable[[], None] | None = None
    ) -> bytes:
        """Send one request; the reply line, or b"" if the child died."""
        proc = self._proc
        try:
            proc.stdin.write(request.encode() + b"\n")
            proc.stdin.flush()
        except BrokenPipeError:
            return b""
        allowed = limits.timeout_s
        deadline = time.monotonic() + allowed
        while True:
            line = self._readline(deadline)
            if line is None:
                self.close()
                raise _timeout_error(allowed)
            if not line.startswith(_EXTEND):
                return line
            # A page sent to OCR: its budget is added to the wall clock (never more than
            # the per-page setting, whatever the child asks for).
            extra = min(float(json.loads(line)["extend_s"]), limits.ocr_page_timeout_s)
            allowed += extra
            deadline += extra
            if on_page is not None:
                on_page()

    def _readline(self, deadline: float) -> bytes | None:
        """The child's next line (b"" or a partial line once it has died), or None at the
        deadline. Reads the pipe directly: a buffered reader could hold a second line that
        ``select`` would then never report."""
        fd = self._proc.stdout.fileno()
        scanned = 0
        while (end := self._buffer.find(b"\n", scanned)) < 0:
            scanned = len(self._buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            data = os.read(fd, 1 << 20)
            if not data:
                line, self._buffer = bytes(self._buffer), bytearray()
                return line
            self._buffer += data
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line


_shared: ParserProcess | None = None
_shared_lock = threading.Lock()


def parse_file_shared(
    path: str | os.PathLike[str],
    *,
    filename: str = "",
    limits: ParseLimits = _DEFAULT_LIMITS,
    on_page: Callable[[], None] | None = None,
) -> ParsedDocument:
    """``ParserProcess.parse`` on one child kept per process (one per Celery pool process)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ParserProcess()
            atexit.register(_shared.close)
        parser = _shared
    return parser.parse(path, filename=filename, limits=limits, on_page=on_page)


def shared_parser_pid() -> int | None:
    """The pid of this process's shared parser child, if one is running (for measurements)."""
    return _shared.pid if _shared is not None else None
