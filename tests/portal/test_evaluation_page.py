"""The evaluation history page: stored runs with metrics and plots, for knowledge managers only."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from portal.evaluation.models import EvaluationRun
from tests.portal.test_evaluation import _folder


@pytest.fixture
def stored_run(db, tmp_path):
    """A real run of the harness on the small folder set, with its plot."""
    (tmp_path / "mini").mkdir()
    out = tmp_path / "report.json"
    call_command(
        "evaluate",
        "retrieval",
        "--dataset",
        str(_folder(tmp_path / "mini")),
        "--split",
        "test",
        "--retrievers",
        "bm25",
        "hybrid",
        "--out",
        str(out),
    )
    return EvaluationRun.objects.get(), json.loads(out.read_text())


def test_admin_sees_each_run_with_its_metrics_and_plot(client, make_user, stored_run):
    run, report = stored_run
    # The plot is stored with the run, so the page does not depend on the artifacts folder.
    Path(run.plot_path).unlink()
    client.force_login(make_user("admin"))
    page = client.get("/evaluation/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "mini / test" in html and "recall@10" in html
    for retriever in ("bm25", "hybrid"):
        assert f"<td>{retriever}</td>" in html
        assert f"<td>{report['retrievers'][retriever]['recall@5']}</td>" in html
    assert f'src="/evaluation/{run.pk}/plot.png"' in html

    plot = client.get(f"/evaluation/{run.pk}/plot.png")
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG")

    filtered = client.get("/evaluation/", {"dataset": "another"})
    assert "mini / test" not in filtered.content.decode()


@pytest.mark.parametrize("role", [None, "staff", "reviewer"])
def test_others_cannot_read_the_history(client, make_user, stored_run, role):
    run, _ = stored_run
    if role:
        client.force_login(make_user(role))
    for path in ("/evaluation/", f"/evaluation/{run.pk}/plot.png"):
        response = client.get(path)
        assert response.status_code in (302, 403)
        assert b"PNG" not in response.content
