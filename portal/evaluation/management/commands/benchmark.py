import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.evaluation.benchmarks.generation import generation_benchmark_run
from portal.evaluation.benchmarks.ingestion import CORPORA, as_json, run_ingestion_benchmark
from portal.evaluation.benchmarks.lexicon import lexicon_benchmark
from portal.evaluation.benchmarks.ocr import ocr_benchmark
from portal.evaluation.benchmarks.retrieval import retrieval_benchmark_json, run_retrieval_benchmark
from portal.evaluation.benchmarks.serving import rss_plot, serving_benchmark


class Command(BaseCommand):
    help = (
        "Benchmarks. `benchmark ingestion`: real documents through the real pipeline. "
        "`benchmark retrieval --chunks 100000`: hybrid search with filters on a synthetic corpus. "
        "`benchmark ocr`: rendered pages with known text through OCR (pages/s, accuracy)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "what",
            choices=["ingestion", "retrieval", "lexicon", "generation", "serving", "ocr"],
        )
        parser.add_argument(
            "--corpus", nargs="+", default=["doc2dial", "pubmedqa"], choices=list(CORPORA)
        )
        parser.add_argument("--limit", type=int, default=100, help="documents per corpus")
        parser.add_argument("--pdf-pages", type=int, default=200, help="0 to skip the PDF")
        parser.add_argument("--mode", choices=["bulk", "per-document"], default="bulk")
        # retrieval
        parser.add_argument("--chunks", type=int, default=100_000, help="retrieval: corpus size")
        parser.add_argument("--queries", type=int, default=300, help="retrieval: timed queries")
        parser.add_argument("--threads", type=int, default=1, help="retrieval: search threads")
        parser.add_argument(
            "--index",
            choices=["auto", "flat", "ivf"],
            default="auto",
            help="retrieval: auto = as index_sync chooses (SEARCH_ANN_THRESHOLD)",
        )
        parser.add_argument(
            "--nprobe",
            type=int,
            nargs="+",
            help="retrieval: IVF cells per query; several values are each timed (the first is "
            "reported at top level); default SEARCH_ANN_NPROBE",
        )
        parser.add_argument("--out", type=Path, help="write the JSON report here")
        # --- Safety (portal/evaluation/benchmarks/lexicon.py): `benchmark lexicon --terms 10000`
        parser.add_argument("--terms", type=int, default=10_000, help="lexicon: library size")

        # --- Serving (portal/evaluation/benchmarks/serving.py): the stack under load
        parser.add_argument("--users", type=int, default=50, help="serving: citizens at once")
        parser.add_argument("--seconds", type=float, default=120, help="serving: load duration")
        parser.add_argument(
            "--server-seconds", type=float, default=60, help="serving: the server-alone phase"
        )
        parser.add_argument("--web-workers", type=int, default=2, help="serving: gunicorn workers")
        parser.add_argument(
            "--slots", type=int, default=None, help="serving: llama-server slots (LLM_SERVER_SLOTS)"
        )

        # --- OCR (portal/evaluation/benchmarks/ocr.py): rendered pages with known text
        parser.add_argument(
            "--dpi", type=int, nargs="+", default=[200, 300], help="ocr: scan resolutions"
        )

    def handle(self, *args, **opts) -> None:
        if opts["what"] == "ocr":
            try:
                result = ocr_benchmark(
                    dpis=tuple(opts["dpi"]), progress=lambda line: self.stderr.write(line)
                )
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
            report = json.dumps(result, indent=2, ensure_ascii=False)
            self.stdout.write(report)
            if opts["out"]:
                opts["out"].write_text(report + "\n", encoding="utf-8")
            return
        if opts["what"] == "serving":
            try:
                result = serving_benchmark(
                    users=opts["users"],
                    seconds=opts["seconds"],
                    server_seconds=opts["server_seconds"],
                    web_workers=opts["web_workers"],
                    slots=opts["slots"] or settings.LLM_SERVER_SLOTS,
                    progress=lambda line: self.stderr.write(line),
                )
            except RuntimeError as exc:
                raise CommandError(str(exc)) from exc
            report = json.dumps(result, indent=2)
            self.stdout.write(report)
            if opts["out"]:
                opts["out"].write_text(report + "\n", encoding="utf-8")
                # Memory over the load phase, beside the report: flat or climbing at a glance.
                plot = rss_plot(result, opts["out"].with_suffix(".rss.png"))
                self.stderr.write(f"memory plot: {plot}")
            return
        if opts["what"] == "lexicon":
            report = json.dumps(lexicon_benchmark(terms=opts["terms"]), indent=2)
            self.stdout.write(report)
            if opts["out"]:
                opts["out"].write_text(report + "\n", encoding="utf-8")
            return
        if opts["what"] == "retrieval":
            self._retrieval(opts)
            return
        if opts["what"] == "generation":
            # --- Answers (portal/evaluation/benchmarks/generation.py): model speed vs the
            # bandwidth ceiling, and time to the first verified sentence through the pipeline.
            bar = tqdm(desc="generation", disable=None)

            def progress(stage: str, n: int, total: int) -> None:
                bar.set_description(stage)
                bar.total = total
                bar.n = n
                bar.refresh()

            report = json.dumps(generation_benchmark_run(progress=progress), indent=2)
            bar.close()
            self.stdout.write(report)
            if opts["out"]:
                opts["out"].write_text(report + "\n", encoding="utf-8")
            return
        result = run_ingestion_benchmark(
            corpora=opts["corpus"],
            limit=opts["limit"],
            pdf_pages=opts["pdf_pages"],
            mode=opts["mode"],
        )
        report = as_json(result)
        self.stdout.write(report)
        if opts["out"]:
            opts["out"].write_text(report + "\n", encoding="utf-8")
        if result.failed:
            raise CommandError(f"{result.failed} document(s) failed during the benchmark")

    def _retrieval(self, opts) -> None:
        result = run_retrieval_benchmark(
            chunks=opts["chunks"],
            queries=opts["queries"],
            threads=opts["threads"],
            index_kind=opts["index"],
            nprobes=opts["nprobe"],
            progress=lambda message: self.stderr.write(message),
        )
        report = retrieval_benchmark_json(result)
        self.stdout.write(report)
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(report + "\n", encoding="utf-8")
        summary = json.loads(report)
        self.stderr.write(
            f"p50 {summary['latency_ms_p50']} ms, p95 {summary['latency_ms_p95']} ms "
            f"(CPU {summary['cpu_ms_p50']} / {summary['cpu_ms_p95']} ms, "
            f"load {summary['load_average']}), "
            f"recall@10 vs exact {summary['recall@10_vs_exact']}, build {summary['build_s']} s, "
            f"rss {summary['rss_mb']} MB"
        )
