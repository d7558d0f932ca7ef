from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.evaluation.injection import SplitUnavailable, injection_set_build


class Command(BaseCommand):
    help = (
        "Write an indirect-prompt-injection folder dataset for `evaluate answers`: PubMedQA dev "
        "abstracts and BIPIA e-mails with BIPIA attack instructions planted in them."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", type=Path, required=True, help="folder to write")
        parser.add_argument("--split", choices=["dev", "test"], default="dev")
        parser.add_argument("--pubmed", type=int, help="abstract items (default: one per attack)")
        parser.add_argument("--email", type=int, help="e-mail items (default: all; 0: none)")
        parser.add_argument(
            "--attacks",
            choices=["bipia", "written", "written_v2"],
            default="bipia",
            help="written / written_v2: the planted instructions written for issue 20 (their "
            "--split half), in PubMedQA dev abstracts",
        )

    def handle(self, *args, **opts) -> None:
        try:
            counts = injection_set_build(
                out=opts["out"], split=opts["split"], pubmed=opts["pubmed"],
                email=opts["email"], attacks_from=opts["attacks"],
            )  # fmt: skip
        except SplitUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{opts['out']}: {counts}")
