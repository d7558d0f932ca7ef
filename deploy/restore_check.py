"""Restore drill check: stored answers still resolve their citations, and asking still answers.

    python deploy/restore_check.py record > before.json        # on the source
    python deploy/restore_check.py verify before.json           # on the restored copy
Exit status 1 when anything does not match.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import django

django.setup()

from portal.qa.models import Answer, Citation  # noqa: E402
from portal.qa.selectors import answer_payload  # noqa: E402


def record(limit: int = 200) -> dict:
    answers = Answer.objects.filter(citations__isnull=False).distinct().order_by("-id")[:limit]
    out = {}
    for answer in answers:
        out[str(answer.public_id)] = {
            "status": answer.status,
            "question": answer.question,
            "citations": {
                c.label: {
                    "quote": c.quote,
                    "document_version_id": c.document_version_id,
                    "chunk_id": c.chunk_id,
                }
                for c in answer.citations.all()
            },
        }
    return out


def verify(before: dict) -> dict:
    problems = []
    for public_id, saved in before.items():
        answer = Answer.objects.filter(public_id=public_id).first()
        if answer is None:
            problems.append(f"{public_id}: missing")
            continue
        payload = answer_payload(answer)  # what /api/answers/<id> serves
        for label, cited in saved["citations"].items():
            row = Citation.objects.filter(answer=answer, label=label).first()
            if row is None or row.quote != cited["quote"]:
                problems.append(f"{public_id}[{label}]: quote differs or missing")
            elif row.document_version_id != cited["document_version_id"]:
                problems.append(f"{public_id}[{label}]: cites another version")
            elif cited["chunk_id"] and row.chunk_id is None:
                problems.append(f"{public_id}[{label}]: chunk gone")
        if answer.status == "answered" and not payload.get("citations"):
            problems.append(f"{public_id}: payload lost its citations")
    # Re-ask a question the source answered with citations: the restored copy must answer it too.
    question = next(
        (v["question"] for v in before.values() if v["status"] == "answered" and v["citations"]),
        "How do I renew my passport by mail?",
    )
    asked = subprocess.run(
        [sys.executable, "manage.py", "ask", question, "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    try:
        reasked = json.loads(asked.stdout)
    except json.JSONDecodeError:
        reasked = {"status": "error", "stderr": asked.stderr[-500:]}
    if reasked.get("status") != "answered" or not reasked.get("citations"):
        problems.append(f"re-asking did not answer with citations: {reasked.get('status')}")
    return {
        "answers_checked": len(before),
        "citations_checked": sum(len(v["citations"]) for v in before.values()),
        "reasked_question": question,
        "reasked_status": reasked.get("status"),
        "reasked_citations": len(reasked.get("citations") or {}),
        "problems": problems,
    }


if __name__ == "__main__":
    if sys.argv[1] == "record":
        print(json.dumps(record()))
    else:
        with open(sys.argv[2]) as handle:
            result = verify(json.load(handle))
        print(json.dumps(result, indent=2))
        sys.exit(1 if result["problems"] else 0)
