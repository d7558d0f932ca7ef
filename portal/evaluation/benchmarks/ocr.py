"""`manage.py benchmark ocr`: rendered pages with known text through the real OCR path.

Pages are drawn with PIL (DejaVu Sans for English, WenQuanYi Zen Hei for Chinese; both Debian
fonts) on A4 at each resolution asked for: a heading and paragraphs of 11 pt body text. Each
language and resolution gives a scanned PDF of four pages (images only, no text layer; PIL writes
it) and a one-page PNG; "degraded" adds a JPEG of a page scanned slightly crooked, blurred and
compressed hard (reported apart: the target is on clean pages). Every file goes through the
sandboxed parser with the deployment's settings (``pipeline.parse_limits``), as an upload would.

Reported per language: pages/s (pages over the parser's wall time, child start-up included), CPU
seconds per page (the parser child and its Tesseract processes, so other load on the machine does
not change it; two idle cores give about 2 / that pages/s), and character accuracy, 1 - CER,
where CER is the edit distance between the OCR'd text of a page and the text drawn on it over the
drawn text's length. Whitespace is ignored for Chinese (it has none) and collapsed for English.
A 50-page text-layer PDF is parsed with OCR on and off as well, to show that pages with a text
layer do not pay for OCR.
"""

from __future__ import annotations

import io
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

EN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
EN_BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
ZH_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"

# Written for this benchmark: the kind of text a benefits office publishes.
EN_PAGES = [
    (
        "Housing Benefit",
        [
            "Housing Benefit helps people on a low income pay their rent. You can apply if you "
            "rent your home from a private landlord, a council or a housing association, and your "
            "savings are below 16,000 dollars. Students and people who live with a close relative "
            "who owns the home can usually not apply.",
            "Apply online or at the local office. Bring proof of identity, your tenancy agreement, "
            "and payslips or bank statements for the last two months. The office decides within "
            "30 working days and writes to you with the amount and the date of the first payment.",
        ],
    ),
    (
        "Changes in your circumstances",
        [
            "Tell the office within 10 days if your income, your rent or the people who live with "
            "you change. If you are paid too much because you did not report a change, you will "
            "have to pay it back, and you may be fined up to 300 dollars.",
            "You can ask for a decision to be looked at again within one month of the date on the "
            "letter. Explain why you think it is wrong and send any new evidence, for example a "
            "new contract or a letter from your employer.",
        ],
    ),
    (
        "Payments",
        [
            "Benefits are paid every two weeks into a bank or building society account. If you "
            "rent from the council, the benefit is paid straight to your rent account and you pay "
            "only the difference.",
            "Payments start on the Monday after your claim is approved. Keep your letters: they "
            "show how the amount was worked out and which income was counted.",
        ],
    ),
    (
        "4.2 Residential parking permits",
        [
            "A residential parking permit costs $40 a year (seniors over 65: $20). It lets one "
            "vehicle park on the streets of your zone without a time limit, except on street "
            "cleaning days (Tuesday 7:00-9:00 am).",
            "Apply within 30 days of moving in, with the vehicle registration and a utility bill "
            "in your name. Call 555-0142 or e-mail permits@riverton.example if the permit has not "
            "arrived after 14 days.",
        ],
    ),
]

# Articles of the Passport Law of the People's Republic of China (中华人民共和国护照法), a law
# text and therefore not subject to copyright in China.
ZH_PAGES = [
    (
        "第一章 总则",
        [
            "第一条 为了规范中华人民共和国护照的申请、签发和管理，保障中华人民共和国公民出入"
            "中华人民共和国国境的权益，促进对外交往，制定本法。",
            "第二条 中华人民共和国护照是中华人民共和国公民出入国境和在国外证明国籍和身份的证件。"
            "任何组织或者个人不得伪造、变造、转让、故意损毁或者非法扣押护照。",
            "第三条 护照分为普通护照、外交护照和公务护照。护照由外交部通过外交途径向外国政府推介。",
        ],
    ),
    (
        "第二章 普通护照",
        [
            "第五条 公民因前往外国定居、探亲、学习、就业、旅行、从事商务活动等非公务原因出国的，"
            "由本人向户籍所在地的县级以上地方人民政府公安机关出入境管理机构申请普通护照。",
            "第六条 公民申请普通护照，应当提交本人的居民身份证、户口簿、近期免冠照片以及申请事由"
            "的相关材料。公安机关出入境管理机构应当自收到申请材料之日起十五日内签发普通护照。",
        ],
    ),
    (
        "第七条",
        [
            "普通护照的登记项目包括：护照持有人的姓名、性别、出生日期、出生地，护照的签发日期、"
            "有效期、签发地点和签发机关。",
            "普通护照的有效期为：护照持有人未满十六周岁的五年，十六周岁以上的十年。普通护照的"
            "具体签发办法，由公安部规定。",
        ],
    ),
    (
        "第三章 护照的签发",
        [
            "第十条 护照持有人所持护照的登记事项发生变更时，应当持相关证明材料，向护照签发机关"
            "申请护照变更加注。",
            "第十二条 护照具备视读与机读两种功能。护照的防伪性能参照国际技术标准制定。护照签发"
            "机关及其工作人员对因制作、签发护照而知悉的公民个人信息，应当予以保密。",
            "第十六条 护照持有人丧失中华人民共和国国籍，或者护照遗失、被盗等情形，由护照签发"
            "机关宣布该护照作废。",
        ],
    ),
]

LANGUAGES = {"en": (EN_PAGES, EN_FONT, EN_BOLD_FONT), "zh": (ZH_PAGES, ZH_FONT, ZH_FONT)}


@dataclass(frozen=True)
class RenderedFile:
    name: str
    language: str
    dpi: int
    kind: str  # "pdf", "png" or "jpeg-degraded"
    data: bytes
    texts: list[str]  # the text drawn on each page, in order


def render_page(heading: str, paragraphs: list[str], *, language: str, dpi: int):
    """An A4 page (grey PIL image) with ``heading`` at 16 pt and ``paragraphs`` at 11 pt,
    one-inch margins, lines wrapped by measured width."""
    from PIL import Image, ImageDraw, ImageFont

    _, body_font, heading_font = LANGUAGES[language]
    width, height = round(8.27 * dpi), round(11.69 * dpi)
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    margin = dpi
    body = ImageFont.truetype(body_font, round(11 * dpi / 72))
    title = ImageFont.truetype(heading_font, round(16 * dpi / 72))
    y = margin
    draw.text((margin, y), heading, font=title, fill=0)
    y += round(16 * dpi / 72 * 2)
    for paragraph in paragraphs:
        for line in _wrap(paragraph, body, width - 2 * margin, spaced=language == "en"):
            draw.text((margin, y), line, font=body, fill=0)
            y += round(11 * dpi / 72 * 1.5)
        y += round(11 * dpi / 72)
    return page


def _wrap(text: str, font, max_width: int, *, spaced: bool) -> list[str]:
    units = text.split(" ") if spaced else list(text)
    joiner = " " if spaced else ""
    lines: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if current and font.getlength(candidate) > max_width:
            lines.append(current)
            current = unit
        else:
            current = candidate
    return [*lines, current] if current else lines


def page_text(heading: str, paragraphs: list[str]) -> str:
    return "\n".join([heading, *paragraphs])


def _degrade(page):
    from PIL import ImageFilter

    # A sheet fed a little crooked, slightly out of focus, saved as a small JPEG.
    return page.rotate(0.8, expand=False, fillcolor=255).filter(ImageFilter.GaussianBlur(0.7))


def rendered_files(*, dpis: tuple[int, ...], degraded: bool) -> list[RenderedFile]:
    files: list[RenderedFile] = []
    for language, (pages, _, _) in LANGUAGES.items():
        texts = [page_text(h, ps) for h, ps in pages]
        for dpi in dpis:
            images = [render_page(h, ps, language=language, dpi=dpi) for h, ps in pages]
            buf = io.BytesIO()
            images[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
            files.append(
                RenderedFile(f"{language}-{dpi}.pdf", language, dpi, "pdf", buf.getvalue(), texts)
            )
            buf = io.BytesIO()
            images[0].save(buf, "PNG", dpi=(dpi, dpi))
            files.append(
                RenderedFile(
                    f"{language}-{dpi}.png", language, dpi, "png", buf.getvalue(), texts[:1]
                )
            )
        if degraded:
            dpi = max(dpis)
            page = _degrade(render_page(*pages[1], language=language, dpi=dpi))
            buf = io.BytesIO()
            page.save(buf, "JPEG", quality=40, dpi=(dpi, dpi))
            files.append(
                RenderedFile(
                    f"{language}-{dpi}-degraded.jpg",
                    language,
                    dpi,
                    "jpeg-degraded",
                    buf.getvalue(),
                    texts[1:2],
                )
            )
    return files


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), two rows at a time."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def comparable(text: str, language: str) -> str:
    return "".join(text.split()) if language == "zh" else " ".join(text.split())


def character_accuracy(reference: str, ocr: str, language: str) -> float:
    """1 - CER, floored at 0 (a page of garbage can be further than its own length)."""
    ref, hyp = comparable(reference, language), comparable(ocr, language)
    return max(0.0, 1 - edit_distance(ref, hyp) / max(len(ref), 1))


def ocr_benchmark(
    *,
    dpis: tuple[int, ...] = (200, 300),
    degraded: bool = True,
    text_pdf_pages: int = 50,
    progress: Callable[[str], None] | None = None,
) -> dict:
    from ingestion.ocr import installed_languages
    from ingestion.sandbox import parse_file_isolated
    from portal.evaluation.benchmarks.ingestion import generated_pdf
    from portal.knowledge.pipeline import parse_limits

    limits = parse_limits()
    if installed_languages() is None:
        raise RuntimeError(
            "Tesseract is not installed (make ocr, or apt-get install tesseract-ocr)"
        )
    files = rendered_files(dpis=dpis, degraded=degraded)
    rows = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        # A warm-up parse, so the first timed file does not also load Tesseract's data from disk.
        parse_file_isolated(_write(tmp, "warm.png", files[1].data), limits=limits)
        for f in files:
            path = _write(tmp, f.name, f.data)
            # A child of its own per file: once it has exited, RUSAGE_CHILDREN holds its CPU time
            # and that of the Tesseract processes it waited for, whatever else the machine runs.
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            doc = parse_file_isolated(path, filename=f.name, limits=limits)
            seconds = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            for page, reference in enumerate(f.texts, start=1):
                ocr_text = "\n".join(b.text for b in doc.blocks if b.page == page)
                confidence = next((p.confidence for p in doc.ocr_pages if p.page == page), None)
                accuracy = character_accuracy(reference, ocr_text, f.language)
                rows.append(
                    {
                        "file": f.name,
                        "language": f.language,
                        "dpi": f.dpi,
                        "kind": f.kind,
                        "page": page,
                        "accuracy": round(accuracy, 4),
                        "confidence": confidence,
                        "file_seconds": round(seconds, 3),
                        "file_cpu_seconds": round(cpu, 3),
                        "file_pages": len(f.texts),
                    }
                )
            if progress:
                progress(f"{f.name}: {len(f.texts)} page(s) in {seconds:.2f} s (CPU {cpu:.2f} s)")
        text_layer = _text_layer_speed(tmp, generated_pdf(text_pdf_pages), limits)
    clean = [r for r in rows if r["kind"] != "jpeg-degraded"]
    return {
        "languages": limits.ocr_languages,
        "render_dpi": limits.ocr_dpi,
        "workers": limits.ocr_workers,
        "cpus": os.cpu_count(),
        "load_average_before": round(load_before, 2),
        "clean": _summary(clean),
        "clean_scanned_pdf": _summary([r for r in clean if r["kind"] == "pdf"]),
        "degraded": _summary([r for r in rows if r["kind"] == "jpeg-degraded"]),
        "text_layer_pdf": text_layer,
        "pages": rows,
    }


def _write(folder: str, name: str, data: bytes) -> Path:
    path = Path(folder) / name
    path.write_bytes(data)
    return path


def _summary(rows: list[dict]) -> dict:
    """Per language and resolution, then per language: pages/s over the parser's wall time,
    CPU seconds per page, and accuracy/confidence averaged over pages."""
    keys = sorted({(r["language"], r["dpi"]) for r in rows})
    keys += [(language, 0) for language in sorted({r["language"] for r in rows})]
    out: dict = {}
    for language, dpi in keys:
        chosen = [r for r in rows if r["language"] == language and dpi in (0, r["dpi"])]
        files = {r["file"]: r for r in chosen}
        seconds = sum(r["file_seconds"] for r in files.values())
        cpu = sum(r["file_cpu_seconds"] for r in files.values())
        pages = sum(r["file_pages"] for r in files.values())
        out[language + (f"@{dpi}dpi" if dpi else "")] = {
            "pages": pages,
            "pages_per_s": round(pages / seconds, 3),
            "cpu_s_per_page": round(cpu / pages, 3),
            "character_accuracy": round(statistics.mean(r["accuracy"] for r in chosen), 4),
            "min_page_accuracy": min(r["accuracy"] for r in chosen),
            "mean_confidence": round(statistics.mean(r["confidence"] or 0.0 for r in chosen), 4),
        }
    return out


def _text_layer_speed(tmp: str, pdf: bytes, limits) -> dict:
    """Pages/s of a text-layer PDF with OCR on and off (best of three, in one warm child)."""
    from ingestion.sandbox import ParserProcess

    path = _write(tmp, "text-layer.pdf", pdf)
    out = {}
    for label, variant in (("ocr_on", limits), ("ocr_off", replace(limits, ocr=False))):
        parser = ParserProcess()
        try:
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                doc = parser.parse(path, limits=variant)
                best = min(best, time.perf_counter() - started)
        finally:
            parser.close()
        if doc.ocr_pages:
            raise RuntimeError("a text-layer PDF was sent to OCR")
        out[label] = {"pages": doc.page_count, "pages_per_s": round(doc.page_count / best, 1)}
    return out
