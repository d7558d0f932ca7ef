"""`evaluate retrieval --in-memory`: the product's search core over a corpus built in memory."""

import json

from django.core.management import call_command

from portal.evaluation import datasets
from portal.evaluation.in_memory import retrieval_evaluate_in_memory
from portal.evaluation.models import EvaluationRun
from tests.portal.test_evaluation import _folder


def test_in_memory_evaluation_of_a_folder(db, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    (tmp_path / "mini").mkdir()
    out = tmp_path / "report.json"
    call_command(
        "evaluate",
        "retrieval",
        "--dataset",
        str(_folder(tmp_path / "mini")),
        "--split",
        "test",
        "--in-memory",
        "--out",
        str(out),
    )
    report = json.loads(out.read_text())
    assert report["mode"].startswith("in-memory (flat")
    assert report["n_documents"] == 3 and report["n_questions"] == 3
    assert report["retrievers"]["bm25"]["recall@1"] == 1.0
    assert report["retrievers"]["hybrid"]["recall@5"] == 1.0
    assert EvaluationRun.objects.get().report["mode"] == report["mode"]
    # Document vectors were cached by content, so a re-run (or the other split) embeds nothing.
    assert len(list((tmp_path / "data" / "eval-cache").glob("*.npy"))) == 1


def test_in_memory_evaluation_uses_ivf_above_the_threshold(db, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.SEARCH_ANN_THRESHOLD = 2
    (tmp_path / "mini").mkdir()
    eval_set = datasets.load(str(_folder(tmp_path / "mini")), "test")
    report = retrieval_evaluate_in_memory(eval_set=eval_set, retrievers=("dense", "hybrid"))
    assert report["mode"].startswith("in-memory (ivf")
    assert report["retrievers"]["hybrid"]["recall@5"] == 1.0
