from django.core.management.base import BaseCommand

from portal.evaluation.seed import SEED_QUESTIONS, evaluation_seed


class Command(BaseCommand):
    help = (
        "Store a first evaluation run (retrieval on the demo knowledge as loaded, a dozen demo "
        "questions, seconds) when none is stored, so the evaluation page is not empty after "
        "`make run`. Does nothing when a run exists or the demo knowledge is not loaded."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=SEED_QUESTIONS, help="questions to ask")

    def handle(self, *args, **opts) -> None:
        run = evaluation_seed(limit=opts["limit"])
        if run is None:
            self.stdout.write("evaluation seed: a run is already stored or no demo knowledge")
            return
        hybrid = run.report["retrievers"].get("hybrid", {})
        self.stdout.write(
            f"evaluation seed: {run.n_questions} demo questions, hybrid recall@5 "
            f"{hybrid.get('recall@5')} (see /evaluation/)"
        )
