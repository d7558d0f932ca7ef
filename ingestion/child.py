"""Sandbox child: ``python -m ingestion.child`` parses one file and prints JSON.

Reads ``{"path", "filename", "limits"}`` from stdin and writes exactly one JSON
object to stdout: ``{"ok": true, "document": {...}}`` or ``{"ok": false,
"code": ..., "message": ...}``. Resource limits are applied by the parent
before this interpreter starts. Only the ingestion package is imported.

``--serve`` keeps the interpreter for many files (``sandbox.ParserProcess``):
one request per stdin line, one reply per stdout line. Before each file it
moves its CPU-time soft limit to "used so far + this file's budget", so the
per-file limit holds however many files came before. Before each page it sends
to OCR it adds the page's budget to that limit and writes ``{"extend_s": s}``
ahead of the reply, so the parent extends its wall-clock limit by as much.
"""

from __future__ import annotations

import json
import os
import sys

# Preformatted so reporting a MemoryError needs no further allocation-heavy work.
_MEMORY_REPLY = (
    '{"ok": false, "code": "resource_limit", "message": "The parser ran out of memory '
    "on this file (limit reached). Split the file or simplify it (fewer or smaller "
    'embedded images, fewer pages) and upload again."}'
)


def main() -> int:
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    # Anything a library prints, from Python or from C, goes to stderr so it
    # cannot corrupt the JSON reply.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if "--serve" in sys.argv[1:]:
        return _serve(out)
    try:
        reply = _run(json.loads(sys.stdin.read()))
    except MemoryError:
        reply = _MEMORY_REPLY
    out.write(reply)
    out.flush()
    return 0


def _serve(out) -> int:
    import math
    import resource

    from ingestion.ocr import set_budget_hook

    def extend(seconds: float) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if soft != resource.RLIM_INFINITY:
            raised = soft + math.ceil(seconds)
            resource.setrlimit(
                resource.RLIMIT_CPU,
                (raised if hard == resource.RLIM_INFINITY else min(raised, hard), hard),
            )
        out.write(json.dumps({"extend_s": seconds}) + "\n")
        out.flush()

    set_budget_hook(extend)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        budget = math.ceil(float(request.get("limits", {}).get("timeout_s", 120.0))) + 1
        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = math.ceil(usage.ru_utime + usage.ru_stime)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (used + budget, hard))
        try:
            reply = _run(request)
        except MemoryError:
            out.write(_MEMORY_REPLY + "\n")
            out.flush()
            return 0  # the heap may be in a bad state: let the parent start a fresh child
        out.write(reply + "\n")
        out.flush()
    return 0


def _run(request: dict) -> str:
    from ingestion.errors import FileTooLarge, IngestionError, ParserFailed, human_size
    from ingestion.parsers import parse_bytes
    from ingestion.types import ParseLimits

    limits = ParseLimits.from_dict(request.get("limits", {}))
    try:
        with open(request["path"], "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            raise FileTooLarge(
                f"The file is larger than the limit of {human_size(limits.max_bytes)}; "
                "split it into smaller files and upload again."
            )
        doc = parse_bytes(data, filename=request.get("filename", ""), limits=limits)
        return json.dumps({"ok": True, "document": doc.to_dict()}, ensure_ascii=False)
    except MemoryError:
        raise
    except IngestionError as exc:
        return json.dumps({"ok": False, "code": exc.code, "message": exc.message})
    except OSError as exc:
        err = ParserFailed(f"The uploaded file could not be read by the parser ({exc}).")
        return json.dumps({"ok": False, "code": err.code, "message": err.message})
    except Exception as exc:
        err = ParserFailed(
            f"The parser failed unexpectedly ({type(exc).__name__}: {str(exc)[:200]}). "
            "Re-save the file and try again; report it if this keeps happening."
        )
        return json.dumps({"ok": False, "code": err.code, "message": err.message})


if __name__ == "__main__":
    sys.exit(main())
