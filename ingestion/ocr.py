"""Read scanned pages with Tesseract: PDF pages without a text layer, and PNG/JPEG/TIFF uploads.

Runs inside the parser sandbox (``ingestion.child``). Tesseract processes inherit the child's
address-space limit; each gets ``ocr_page_timeout_s`` of wall-clock time per page it reads, and
the sandbox's own limits grow by that budget for every page sent to OCR (``set_budget_hook``), so
a long scan is not cut off at the per-document limit while a stuck page still is. Nothing is
downloaded at run time: the languages are Debian's ``tesseract-ocr-<lang>`` packages.

Tesseract runs with one OpenMP thread and ``ocr_workers`` processes side by side, each reading a
batch of up to ``MAX_BATCH`` pages: on the two-core dev container its own threads made a page 2-6
times slower than one thread, and loading its models for every page cost a quarter of the CPU
time. Its TSV output gives every word's box and confidence; words become lines and paragraphs as
Tesseract grouped them, with no spaces between Chinese characters, and a short line set clearly
larger than the body text, or numbered like a section, becomes a heading.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from ingestion.errors import (
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    NoTextLayer,
    ParseResourceLimit,
    ParserFailed,
    ParseTimeout,
    UnsupportedType,
)
from ingestion.headings import MAX_HEADING_CHARS, looks_like_heading, numbered_heading_level
from ingestion.normalize import is_spaceless, join_lines
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.types import OcrPage, ParsedDocument, ParseLimits

TESSERACT = "tesseract"
# A rendered or uploaded page larger than this is refused rather than handed to Tesseract: an A3
# page at 600 dpi is 35 megapixels, and a "page" of 100 million pixels is a decompression bomb.
MAX_PAGE_PIXELS = 50_000_000
# Paragraphs Tesseract reads with less mean confidence than this are noise (a photo, a stamp, a
# signature), not text; real text on a poor scan still scores well above it.
MIN_PARAGRAPH_CONFIDENCE = 0.30
# Pages one Tesseract process reads (see read_pages).
MAX_BATCH = 4
# A short line at least this much taller than the body text is a heading.
_HEADING_HEIGHT_RATIO = 1.3
_SENTENCE_END = tuple(".。!！?？:：;；,，")
_FULL_STOP = tuple(".。!！?？:：;；")
# "第一章总则" as OCR joins it: the space after a chapter or section number is restored, which is
# how such headings are written and what ingestion.headings recognises.
_GLUED_HEADING_NUMBER = re.compile(r"^(第[零〇一二三四五六七八九十百千两\d]+[编部篇章节])(?=\S)")
# The page-number lines ingestion.parsers.pdf drops from text layers ("3", "- 3 -", "第 3 页").
_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$"
    r"|^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$",
    re.IGNORECASE,
)

_budget_hook: Callable[[float], None] | None = None


def set_budget_hook(hook: Callable[[float], None] | None) -> None:
    """Called with ``ocr_page_timeout_s`` before each page is sent to OCR: the sandbox child
    uses it to extend its own CPU limit and tell its parent to extend the wall-clock one."""
    global _budget_hook
    _budget_hook = hook


@dataclass(frozen=True)
class PageImage:
    """One page as a binary PGM image (which Tesseract reads without a codec)."""

    page: int
    pnm: bytes
    dpi: int | None


@dataclass(frozen=True)
class _Line:
    text: str
    height: int
    width: int
    chars: int
    confidence_sum: float  # sum of word confidence x characters


@dataclass(frozen=True)
class _PageRead:
    page: int
    paragraphs: list[list[_Line]]
    seconds: float


@dataclass(frozen=True)
class ScannedPages:
    """The outcome of OCR over a document's scanned pages."""

    #: page number -> its blocks, for pages where OCR found text.
    blocks: dict[int, list[RawBlock]] = field(default_factory=dict)
    pages: tuple[OcrPage, ...] = ()
    #: Why OCR did not run although pages needed it ("" when it ran or was not needed).
    unavailable: str = ""

    def attach(self, doc: ParsedDocument) -> ParsedDocument:
        return replace(doc, ocr_pages=self.pages) if self.pages else doc

    def no_text_error(self, page_count: int) -> NoTextLayer:
        if self.unavailable:
            reason = self.unavailable[0].upper() + self.unavailable[1:]
            why = f"{reason}. Upload a PDF with a text layer (e.g. exported from Word) or run it"
            why += " through OCR software first."
        else:
            why = (
                "OCR found no readable text on its pages either. Check that it is the right "
                "file and that the scan is upright and sharp (200-300 dpi)."
            )
        return NoTextLayer(
            f"The PDF has {page_count} page(s) but no text layer, so it is probably scanned "
            f"images. {why}"
        )


# --- Availability ---------------------------------------------------------------------------


@functools.cache
def installed_languages() -> frozenset[str] | None:
    """Tesseract's installed languages, or None when Tesseract is not installed (cached)."""
    try:
        out = subprocess.run(
            [TESSERACT, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    # The first line is 'List of available languages in "/usr/share/...":'.
    return frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


def unavailable_reason(limits: ParseLimits) -> str:
    """Why OCR cannot run with these settings, or "" when it can."""
    if not limits.ocr:
        return "OCR is switched off here (INGEST_OCR)"
    installed = installed_languages()
    if installed is None:
        return "OCR is not installed here (Tesseract: apt-get install tesseract-ocr)"
    missing = [lang for lang in limits.ocr_languages.split("+") if lang not in installed]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang.replace('_', '-')}" for lang in missing)
        return f"the OCR language(s) {', '.join(missing)} are not installed here ({packages})"
    return ""


# --- Running Tesseract ----------------------------------------------------------------------


def _tesseract_env() -> dict[str, str]:
    # Only what Tesseract needs: the worker's environment holds database and key secrets.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "TESSDATA_PREFIX", "LANG")}
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def read_pages(images: Iterable[PageImage], *, count: int, limits: ParseLimits) -> list[_PageRead]:
    """OCR ``count`` pages, ``limits.ocr_workers`` Tesseract processes at a time; results in page
    order.

    Pages go to Tesseract in batches of up to ``MAX_BATCH`` (one process reads a list of files),
    because loading its models costs about a quarter of a page's CPU time; a batch has its pages'
    time limits together. ``images`` is consumed lazily in this thread (PDFium is not
    thread-safe) and each page is written to a file at once, so memory holds one page image.
    """
    size = max(1, min(MAX_BATCH, math.ceil(count / limits.ocr_workers)))
    env = _tesseract_env()
    done: list[_PageRead] = []
    with (
        tempfile.TemporaryDirectory(prefix="ocr-") as folder,
        ThreadPoolExecutor(max_workers=limits.ocr_workers) as pool,
    ):
        running: set[Future[list[_PageRead]]] = set()

        def submit(batch: list[tuple[int, str]], dpi: int | None) -> None:
            nonlocal running
            if len(running) >= limits.ocr_workers:
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                done.extend(read for future in finished for read in future.result())
            running.add(pool.submit(_read_batch, batch, dpi, folder, limits, env))

        batch: list[tuple[int, str]] = []
        dpi: int | None = None
        for image in images:
            # One --dpi per Tesseract run: a page of another resolution starts a new batch.
            if batch and (len(batch) == size or image.dpi != dpi):
                submit(batch, dpi)
                batch = []
            if _budget_hook is not None:
                _budget_hook(limits.ocr_page_timeout_s)
            path = os.path.join(folder, f"page-{image.page}.pnm")
            with open(path, "wb") as fh:
                fh.write(image.pnm)
            batch.append((image.page, path))
            dpi = image.dpi
        if batch:
            submit(batch, dpi)
        done.extend(read for future in running for read in future.result())
    return sorted(done, key=lambda r: r.page)


def _read_batch(
    batch: list[tuple[int, str]],
    dpi: int | None,
    folder: str,
    limits: ParseLimits,
    env: dict[str, str],
) -> list[_PageRead]:
    pages = [page for page, _ in batch]
    named = f"page {pages[0]}" if len(pages) == 1 else f"pages {pages[0]}-{pages[-1]}"
    listing = os.path.join(folder, f"batch-{pages[0]}.txt")
    with open(listing, "w", encoding="utf-8") as fh:
        fh.writelines(f"{path}\n" for _, path in batch)
    cmd = [TESSERACT, listing, "stdout", "-l", limits.ocr_languages, "--psm", "3"]
    if dpi:
        cmd += ["--dpi", str(dpi)]
    cmd.append("tsv")
    timeout = limits.ocr_page_timeout_s * len(batch)
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ParseTimeout(
            f"Reading {named} with OCR took longer than {timeout:g} seconds "
            f"({limits.ocr_page_timeout_s:g} seconds a page) and was stopped. Scan it again at "
            "300 dpi or split the file, then upload again."
        ) from exc
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace")
        if proc.returncode < 0 or "alloc" in stderr.lower():
            raise ParseResourceLimit(
                f"OCR ran out of memory or was killed on {named}. Scan the pages at a lower "
                "resolution (300 dpi is enough) and upload again."
            )
        tail = (stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise ParserFailed(f"OCR failed on {named} ({tail}).")
    seconds = round((time.perf_counter() - started) / len(batch), 3)
    by_page = _paragraphs(proc.stdout.decode("utf-8", "replace"))
    # Tesseract numbers the files of the list from 1.
    return [_PageRead(page, by_page.get(i, []), seconds) for i, page in enumerate(pages, 1)]


def _paragraphs(tsv: str) -> dict[int, list[list[_Line]]]:
    """Tesseract's TSV as paragraphs of lines, per page (numbered from 1 in its input list).

    Columns: level page_num block_num par_num line_num word_num left top width height conf
    text; level 4 rows are lines (their height sizes the text), level 5 rows are words.
    """
    boxes: dict[tuple[str, ...], tuple[int, int]] = {}  # line -> (width, height)
    words: dict[tuple[str, ...], list[tuple[str, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12:
            continue
        key = (cols[1], cols[2], cols[3], cols[4])
        if cols[0] == "4":
            boxes[key] = (int(cols[8]), int(cols[9]))
        elif cols[0] == "5" and cols[11].strip() and float(cols[10]) >= 0:
            words.setdefault(key, []).append((cols[11].strip(), float(cols[10]) / 100))
    paragraphs: dict[tuple[str, ...], list[_Line]] = {}
    for key, line_words in words.items():
        width, height = boxes.get(key, (0, 0))
        parts: list[str] = []
        for text, _ in line_words:
            # Tesseract separates Chinese characters like words; Chinese takes no spaces (its
            # word boxes are too irregular to tell a real space from the gap between two).
            if parts and not (is_spaceless(parts[-1][-1]) or is_spaceless(text[0])):
                parts.append(" ")
            parts.append(text)
        line = _Line(
            text="".join(parts),
            height=height,
            width=width,
            chars=sum(len(t) for t, _ in line_words),
            confidence_sum=sum(len(t) * c for t, c in line_words),
        )
        paragraphs.setdefault(key[:3], []).append(line)
    by_page: dict[int, list[list[_Line]]] = {}
    for key, lines in paragraphs.items():
        by_page.setdefault(int(key[0]), []).append(lines)
    return by_page


# --- From words to blocks -------------------------------------------------------------------


def _confidence(lines: list[_Line]) -> float:
    chars = sum(line.chars for line in lines)
    return sum(line.confidence_sum for line in lines) / chars if chars else 0.0


def scanned_pages(reads: list[_PageRead]) -> ScannedPages:
    """Blocks and per-page confidence from the pages' OCR output."""
    kept = {
        read.page: _rejoin(
            [
                para
                for para in read.paragraphs
                if _confidence(para) >= MIN_PARAGRAPH_CONFIDENCE
                and not (len(para) == 1 and _PAGE_NUMBER.match(para[0].text))
            ]
        )
        for read in reads
    }
    weight: dict[int, int] = {}
    for paras in kept.values():
        for para in paras:
            for line in para:
                weight[line.height] = weight.get(line.height, 0) + line.chars
    body = max(weight, key=lambda h: (weight[h], -h)) if weight else 0
    blocks: dict[int, list[RawBlock]] = {}
    sized: list[tuple[RawBlock, int]] = []
    pages: list[OcrPage] = []
    for read in reads:
        paras = kept[read.page]
        if not paras:
            continue
        page_blocks = []
        for para in paras:
            block, height = _classify(para, read.page, body)
            page_blocks.append(block)
            if height:
                sized.append((block, height))
        blocks[read.page] = page_blocks
        lines = [line for para in paras for line in para]
        pages.append(
            OcrPage(
                page=read.page,
                confidence=round(_confidence(lines), 4),
                chars=sum(line.chars for line in lines),
                seconds=read.seconds,
            )
        )
    # Unnumbered headings are ranked by size over the whole document, larger = higher up.
    ranks = {h: i + 1 for i, h in enumerate(sorted({h for _, h in sized}, reverse=True))}
    for block, height in sized:
        block.level = ranks[height]
    return ScannedPages(blocks=blocks, pages=tuple(pages))


def _rejoin(paras: list[list[_Line]]) -> list[list[_Line]]:
    """Rejoin paragraphs Tesseract split inside a sentence: the previous one ends in a line that
    runs to the right margin without a full stop, in the same size. A short last line (a
    heading, the end of a paragraph) keeps the break."""
    full = 0.8 * max((line.width for para in paras for line in para), default=0)
    out: list[list[_Line]] = []
    for para in paras:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev[-1].width >= full
            and not prev[-1].text.endswith(_FULL_STOP)
            and abs(prev[-1].height - para[0].height) <= 0.15 * max(prev[-1].height, 1)
        ):
            out[-1] = prev + para
        else:
            out.append(para)
    return out


def _classify(para: list[_Line], page: int, body: int) -> tuple[RawBlock, int]:
    """The block and, for an unnumbered heading, its (bucketed) height; else 0."""
    text = join_lines([line.text for line in para])
    block = RawBlock("paragraph", text, page=page, ocr_confidence=round(_confidence(para), 4))
    if len(para) > 2 or len(text) > MAX_HEADING_CHARS or text.endswith(_SENTENCE_END):
        return block, 0
    spaced = _GLUED_HEADING_NUMBER.sub(r"\1 ", text)
    numbered = numbered_heading_level(spaced)
    if numbered is not None and looks_like_heading(spaced) is not None:
        block.kind, block.level, block.text = "heading", numbered, spaced
        return block, 0
    height = max(line.height for line in para)
    if body and height >= _HEADING_HEIGHT_RATIO * body:
        block.kind = "heading"
        # OCR boxes vary by a few pixels; a tenth of the body height is one size step.
        return block, round(height / body * 10)
    return block, 0


# --- Scanned PDF pages ----------------------------------------------------------------------


def pdf_scanned_pages(pdf, text_chars: list[int], *, limits: ParseLimits) -> ScannedPages:
    """OCR the pages of an open pypdfium2 document whose text layer has fewer than
    ``limits.ocr_min_text_chars`` characters (``text_chars[i]`` for page i + 1)."""
    wanted = [i for i, n in enumerate(text_chars) if n < limits.ocr_min_text_chars]
    if not wanted:
        return ScannedPages()
    reason = unavailable_reason(limits)
    if reason:
        return ScannedPages(unavailable=reason)
    images = (_render(pdf, i, limits) for i in wanted)
    return scanned_pages(read_pages(images, count=len(wanted), limits=limits))


def _render(pdf, index: int, limits: ParseLimits) -> PageImage:
    page = pdf[index]
    try:
        width, height = page.get_size()  # points
        scale = limits.ocr_dpi / 72
        pixels = width * height * scale * scale
        if pixels > MAX_PAGE_PIXELS:
            # An oversized page (a poster, a map) is rendered smaller instead of refused.
            scale *= math.sqrt(MAX_PAGE_PIXELS / pixels)
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            pnm = _pgm(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride)
        finally:
            bitmap.close()
    finally:
        page.close()
    return PageImage(index + 1, pnm, round(scale * 72))


def _pgm(buffer, width: int, height: int, stride: int) -> bytes:
    """A binary PGM of an 8-bit grey bitmap whose rows are ``stride`` bytes apart."""
    data = memoryview(buffer).cast("B")
    if stride == width:
        rows = data[: width * height].tobytes()
    else:
        rows = b"".join(data[r * stride : r * stride + width] for r in range(height))
    return b"P5\n%d %d\n255\n" % (width, height) + rows


# --- Images ---------------------------------------------------------------------------------


def parse_image(data: bytes, *, media_type: str, limits: ParseLimits) -> ParsedDocument:
    """A PNG, JPEG or TIFF upload read with OCR; each frame of a multi-page TIFF is a page."""
    from PIL import Image, UnidentifiedImageError

    kind = media_type.split("/")[-1].upper()
    reason = unavailable_reason(limits)
    if reason:
        raise UnsupportedType(
            f"This file is a {kind} image, whose text can only be read with OCR, and {reason}. "
            "Upload a PDF with a text layer, DOCX, HTML, Markdown or text instead."
        )
    try:
        image = Image.open(io.BytesIO(data))
        frames = getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CorruptFile(
            f"The {kind} image could not be read ({str(exc)[:200]}); it may be damaged. "
            "Save or scan it again and upload it again."
        ) from exc
    if frames > limits.max_pages:
        raise FileTooLarge(
            f"The image has {frames} pages; the limit is {limits.max_pages}. "
            "Split it into smaller files and upload them separately."
        )
    scanned = scanned_pages(read_pages(_frames(image, frames, kind), count=frames, limits=limits))
    if not scanned.blocks:
        raise EmptyFile(
            f"OCR found no readable text in this {kind} image ({frames} page(s)). Check that it "
            "is the right file and that the scan is upright and sharp (200-300 dpi)."
        )
    raw_blocks = [block for page in sorted(scanned.blocks) for block in scanned.blocks[page]]
    doc = build_document(raw_blocks, media_type=media_type, title=None, page_count=frames)
    return scanned.attach(doc)


def _frames(image, frames: int, kind: str) -> Iterator[PageImage]:
    from PIL import ImageOps

    for index in range(frames):
        try:
            image.seek(index)
            width, height = image.size
            if width * height > MAX_PAGE_PIXELS:
                raise FileTooLarge(
                    f"Page {index + 1} of the image is {width} x {height} pixels; the limit is "
                    f"{MAX_PAGE_PIXELS // 1_000_000} megapixels. Scan it at 300 dpi and upload "
                    "it again."
                )
            frame = ImageOps.exif_transpose(image) if index == 0 else image
            grey = _grey(frame)
        except (OSError, ValueError, SyntaxError) as exc:
            raise CorruptFile(
                f"Page {index + 1} of the {kind} image could not be decoded "
                f"({str(exc)[:200]}); save or scan it again and upload it again."
            ) from exc
        buf = io.BytesIO()
        grey.save(buf, "PPM")
        yield PageImage(index + 1, buf.getvalue(), _dpi(image.info.get("dpi")))


def _grey(frame):
    from PIL import Image

    if frame.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        # 16-bit scans: keep the top 8 bits instead of clipping everything above 255 to white.
        return frame.convert("I").point(lambda v: v / 256).convert("L")
    if frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info:
        # Text drawn on a transparent background would turn black on black.
        background = Image.new("RGBA", frame.size, "white")
        background.alpha_composite(frame.convert("RGBA"))
        return background.convert("L")
    return frame.convert("L")


def _dpi(value) -> int | None:
    """The image's own resolution when it is plausible (cameras write 72 or nothing)."""
    try:
        dpi = round(float(value[0]))
    except (TypeError, ValueError, IndexError):
        return None
    return dpi if 100 <= dpi <= 1200 else None
