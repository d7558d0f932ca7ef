from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.knowledge.benchmarks import CORPORA, as_json, run_ingestion_benchmark


class Command(BaseCommand):
    help = "Benchmarks. `benchmark ingestion`: real documents through the real pipeline."

    def add_arguments(self, parser) -> None:
        parser.add_argument("what", choices=["ingestion"])
        parser.add_argument(
            "--corpus", nargs="+", default=["doc2dial", "pubmedqa"], choices=list(CORPORA)
        )
        parser.add_argument("--limit", type=int, default=100, help="documents per corpus")
        parser.add_argument("--pdf-pages", type=int, default=200, help="0 to skip the PDF")
        parser.add_argument("--mode", choices=["bulk", "per-document"], default="bulk")
        parser.add_argument("--out", type=Path, help="write the JSON report here")

    def handle(self, *args, **opts) -> None:
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
