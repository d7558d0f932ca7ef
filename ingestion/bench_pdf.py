"""PDF parsing throughput: ``python -m ingestion.bench_pdf --pages 300``.

Generates a text PDF with fpdf2 (a test-only dependency), then reports pages/s
for in-process ``parse_bytes`` and for the sandboxed ``parse_file_isolated``.
Run it as a module: running the file directly would put ``ingestion/`` on
``sys.path`` and let ``ingestion/types.py`` shadow the standard library.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from ingestion.parsers import parse_bytes
from ingestion.sandbox import parse_file_isolated

_SENTENCE = (
    "Applicants must submit proof of residence and income to the local office, "
    "and the office replies within thirty working days. "
)


def make_pdf(*, pages: int) -> bytes:
    """A PDF of ``pages`` pages, each with a numbered heading and four wrapped paragraphs."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Benchmark document")
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 15)
        pdf.cell(0, 10, f"{n}. Section {n}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for _ in range(4):
            pdf.multi_cell(0, 5, _SENTENCE * 5, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    return bytes(pdf.output())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    data = make_pdf(pages=args.pages)
    print(f"generated {args.pages} pages, {len(data) / 1024:.0f} KiB")

    best = min(_timed(lambda: parse_bytes(data, filename="bench.pdf")) for _ in range(args.repeat))
    print(f"parse_bytes:         {args.pages / best:8.0f} pages/s ({best:.3f} s)")

    fd, path = tempfile.mkstemp(suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        best = min(_timed(lambda: parse_file_isolated(path)) for _ in range(args.repeat))
        print(f"parse_file_isolated: {args.pages / best:8.0f} pages/s ({best:.3f} s)")
    finally:
        os.unlink(path)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
