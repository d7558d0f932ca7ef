"""What the question redactor needs from the knowledge base, and what retrieval gets from it.

Questions are redacted before retrieval by design: the redacted text is what is stored, searched
and put in the prompt, so personal data reaches neither the database nor a model. Two things keep
that from costing answers:

- ``known_terms``: the words of the live documents' titles and the collection names. The
  redactor never takes a span made only of them for a person's name, so "How do I get a
  Riverton parking permit?" keeps "Riverton" when a document is titled after it.
- ``searchable``: the redacted question without the placeholders themselves, since "<NAME>"
  would otherwise search for the word "name" (and "<ADDRESS>" for "address").
"""

from __future__ import annotations

import re
import threading

from django.db.models import Count, Max, Sum
from django.db.models.functions import Length

from portal.knowledge.models import Collection, Document
from portal.safety.pii import PLACEHOLDERS, known_terms_from

_lock = threading.Lock()
_cached: tuple[tuple, frozenset[str]] | None = None
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))


def _fingerprint() -> tuple:
    """Changes when a live document or a collection is added, removed or renamed (to a title of
    another length): two aggregate queries instead of reading every title per question."""
    live = Document.objects.filter(deleted_at__isnull=True).aggregate(
        n=Count("pk"), top=Max("pk"), chars=Sum(Length("title"))
    )
    collections = Collection.objects.aggregate(
        n=Count("pk"), top=Max("pk"), chars=Sum(Length("name"))
    )
    return tuple(live.values()) + tuple(collections.values())


def known_terms() -> frozenset[str]:
    """The words of live document titles and collection names (``pii.known_terms_from``),
    recomputed only when the fingerprint of those rows moves."""
    global _cached
    fingerprint = _fingerprint()
    cached = _cached
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    titles = Document.objects.filter(deleted_at__isnull=True).values_list("title", flat=True)
    names = Collection.objects.values_list("name", flat=True)
    terms = known_terms_from([*titles, *names])
    with _lock:
        _cached = (fingerprint, terms)
    return terms


def searchable(question: str) -> str:
    """The redacted ``question`` as retrieval should read it: placeholders removed."""
    cleaned = " ".join(_PLACEHOLDER.sub(" ", question).split())
    return cleaned or question
