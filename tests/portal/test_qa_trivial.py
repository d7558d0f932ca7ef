"""A heading the model (or the quoting backend) copies is dropped without holding the answer."""

from portal.qa.services import answer_run
from tests.portal.factories import ingest

BENEFITS_MD = """# Winter fuel payment

## Who gets it

People born before 22 September 1958 get a winter fuel payment of between 250 and 600 pounds.
The payment is made automatically in November or December.
"""


def test_a_copied_heading_is_dropped_not_held(db):
    ingest(BENEFITS_MD, filename="winter.md", title="Winter fuel payment")
    outcome = answer_run(question="Who gets the winter fuel payment?")
    assert outcome.status == "answered", outcome.answer.guard
    assert all(s["text"] != "Winter fuel payment" for s in outcome.sentences)
    assert "22 September 1958" in outcome.sentences[0]["text"]
