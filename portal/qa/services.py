"""Writes of the qa app: asking a question (``answer_stream`` / ``answer_run``).

The portal page, the API, ``manage.py ask`` and evaluation all call these, so every surface gets
the same steps, the same audit event and the same rate limit (portal/qa/engine/answer.py).
"""

from portal.qa.engine.answer import (
    MAX_QUESTION_CHARS,
    AnswerOutcome,
    Asker,
    RateLimited,
    answer_run,
    answer_stream,
    citation_payload,
)

__all__ = [
    "MAX_QUESTION_CHARS",
    "AnswerOutcome",
    "Asker",
    "RateLimited",
    "answer_run",
    "answer_stream",
    "citation_payload",
]
