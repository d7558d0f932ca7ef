import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from portal.evaluation import datasets
from portal.evaluation.answers import answers_evaluate, answers_table
from portal.evaluation.redaction import SETS as REDACTION_SETS
from portal.evaluation.redaction import redaction_evaluate, redaction_table
from portal.evaluation.safety import evaluate_command
from portal.evaluation.safety_sets import DETECTOR_SETS, detector_set_evaluate, detector_table
from portal.evaluation.services import (
    evaluation_run_record,
    recall_plot,
    report_table,
    retrieval_evaluate,
)
from portal.knowledge.retrieval import RETRIEVERS


class Command(BaseCommand):
    help = (
        "Evaluate the product on a dataset. `evaluate retrieval --dataset NAME_OR_FOLDER "
        "--split dev|test [--limit N] --out report.json` (writes report.png beside it)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("what", choices=["retrieval", "answers", "safety", "pii"])
        parser.add_argument(
            "--dataset",
            help="pubmedqa, doc2dial, policyqa, stard, cmb_clin, their translations doc2dial_zh,"
            " policyqa_zh, pubmedqa_zh, stard_en, or a folder; for pii: pii_redaction (default),"
            " pii_redaction_v2 or a .jsonl file",
        )
        parser.add_argument(
            "--split",
            choices=["dev", "test", "all"],
            help="default: dev (safety: all); all only for safety and pii",
        )
        parser.add_argument("--limit", type=int, help="first N questions only")
        parser.add_argument(
            "--exclude-limits",
            type=int,
            nargs="+",
            help="answers: leave out the questions earlier --limit N runs used (a fresh sample)",
        )
        parser.add_argument("--retrievers", nargs="+", choices=RETRIEVERS, default=list(RETRIEVERS))
        parser.add_argument("--out", type=Path, help="JSON report path")
        parser.add_argument(
            "--in-memory",
            action="store_true",
            help="skip the database pipeline: one passage per document, indexes built in memory "
            "with the product's tokenizer, embedder and search core (for corpora too large to "
            "ingest quickly, e.g. STARD's 58k articles)",
        )
        parser.add_argument(
            "--corpus-sample",
            type=int,
            help="answers: ingest the questions' gold documents and only N other documents "
            "(chosen by a hash of their id), for corpora too large to ingest in one sitting",
        )
        # --- Safety (portal/evaluation/safety.py): `evaluate safety --prompts FILE.jsonl`
        parser.add_argument(
            "--prompts",
            help="safety: a JSONL bank, or bank / cvalues / flames / contrast / medication / "
            "safety_prompts; or the detector sets planted_sentences(_v2) / harm_context",
        )
        parser.add_argument("--stage", choices=["guard", "pipeline"], default="pipeline")

    def handle(self, *args, **opts) -> None:
        if opts["what"] == "pii":
            self._pii(opts)
            return
        if opts["what"] == "safety":
            bar = tqdm(desc="prompts", disable=None)

            def advance(n: int, total: int) -> None:
                bar.total = total
                bar.update(n - bar.n)

            try:
                if opts["prompts"] in DETECTOR_SETS:
                    self._detector_set(opts, advance)
                else:
                    evaluate_command(opts=opts, write=self.stdout.write, progress=advance)
            except (ValueError, FileNotFoundError) as exc:
                raise CommandError(str(exc)) from exc
            return
        if not opts["dataset"]:
            raise CommandError(f"evaluate {opts['what']} needs --dataset")
        opts["split"] = opts["split"] or "dev"
        if opts["split"] == "all":  # "all" is for the written safety and redaction sets only
            raise CommandError(f"evaluate {opts['what']} takes --split dev or test")
        try:
            eval_set = datasets.load(opts["dataset"], opts["split"])
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        bars: dict[str, tqdm] = {}

        def progress(stage: str, n: int, total: int) -> None:
            bar = bars.get(stage)
            if bar is None:
                bar = bars[stage] = tqdm(total=total, desc=stage, disable=None)
            bar.update(n - bar.n)

        if opts["what"] == "answers":
            self._answers(eval_set, opts, progress, bars)
            return

        if opts["in_memory"]:
            from portal.evaluation.in_memory import retrieval_evaluate_in_memory

            evaluate = retrieval_evaluate_in_memory
        else:
            evaluate = retrieval_evaluate
        report = evaluate(
            eval_set=eval_set,
            limit=opts["limit"],
            retrievers=tuple(opts["retrievers"]),
            progress=progress,
        )
        for bar in bars.values():
            bar.close()
        plot = ""
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            plot = str(recall_plot(report=report, path=opts["out"].with_suffix(".png")))
        evaluation_run_record(kind="retrieval", report=report, plot_path=plot)
        self.stdout.write(report_table(report))
        if plot:
            self.stdout.write(f"report: {opts['out']}  plot: {plot}")

    def _answers(self, eval_set, opts, progress, bars) -> None:
        # --- Answers (portal/evaluation/answers.py): the whole pipeline graded against gold labels.
        report = answers_evaluate(
            eval_set=eval_set,
            limit=opts["limit"],
            corpus_sample=opts["corpus_sample"],
            exclude_limits=tuple(opts["exclude_limits"] or ()),
            progress=progress,
        )
        for bar in bars.values():
            bar.close()
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(
                json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        evaluation_run_record(kind="answers", report=report)
        self.stdout.write(answers_table(report))

    def _detector_set(self, opts: dict, progress) -> None:
        """The planted-instruction detector or the harm-in-context check on its written set."""
        report = detector_set_evaluate(
            opts["prompts"], split=opts["split"] or "all", limit=opts["limit"], progress=progress
        )
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        evaluation_run_record(kind="safety", report=report)
        self.stdout.write(detector_table(report))

    def _pii(self, opts: dict) -> None:
        """The question redactor on its labelled set (portal/evaluation/redaction.py)."""
        name = opts["dataset"] or "pii_redaction"
        path = REDACTION_SETS.get(name, Path(name))
        if not path.is_file():
            raise CommandError(
                f"no redaction set {name!r}: one of {', '.join(REDACTION_SETS)} or a .jsonl file"
            )
        report = redaction_evaluate(split=opts["split"] or "dev", limit=opts["limit"], path=path)
        if opts["out"]:
            opts["out"].parent.mkdir(parents=True, exist_ok=True)
            opts["out"].write_text(
                json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        evaluation_run_record(kind="safety", report=report)
        self.stdout.write(redaction_table(report))
