"""One normalisation for every piece of text people type in: forms, API bodies, admin pages.

Text arrives from browsers, scripts and pasted documents with invisible debris: NUL bytes
(PostgreSQL text columns refuse them, JSON columns keep them), vertical tabs and other C0/C1
control characters from word processors (lxml, and so the DOCX export, refuses them), Windows
line ends, lone surrogates from broken JSON escapes (no UTF-8 encoding exists for them), and the
same letter in composed and decomposed form (so "é" would not match "é" in guards, search and
deduplication). Normalising once at the edge means services, the database, the guards and the
exports all see one canonical text, whichever surface it came through.

``normalize_text`` is the rule; ``NormalizedStr`` applies it to API schema fields (before their
length checks) and ``NormalizedTextMixin`` to every value a form is bound with.
``xml_safe`` is the last line of defence for writers of XML (DOCX): text stored before this
module existed, or produced internally, may still carry characters XML 1.0 cannot hold.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from django import forms
from django.http import QueryDict
from pydantic import BeforeValidator

# C0 controls but tab and line feed, DEL, the C1 controls, and lone UTF-16 surrogates. Carriage
# returns are turned into line feeds before this runs, so they never reach it.
_DISALLOWED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# What XML 1.0 cannot contain at all (its Char production); lxml raises ValueError on any of it.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def normalize_text(value: str) -> str:
    """Line ends as \\n, control characters (but \\t and \\n) and NUL dropped, then NFC."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _DISALLOWED.sub("", value))


def xml_safe(value: str) -> str:
    """``value`` without the characters XML 1.0 forbids (so python-docx / lxml accept it)."""
    return _NOT_XML.sub("", value)


def _normalize_if_str(value: Any) -> Any:
    # Non-strings are left to the field's own type validation, which reports them as usual.
    return normalize_text(value) if isinstance(value, str) else value


# A pydantic/ninja string normalised *before* validation, so min_length and max_length count the
# text that is stored: a question made only of control characters is empty, and refused (422).
NormalizedStr = Annotated[str, BeforeValidator(_normalize_if_str)]


class NormalizedTextMixin:
    """Form mixin: every submitted text value is normalised before any field cleans it.

    Working on the bound data (not on one field class) covers every text field alike: CharField,
    SlugField, the admin's model fields, and the values the form shows again on error. Put it
    first in the bases: ``class MyForm(NormalizedTextMixin, forms.Form)``.
    """

    def full_clean(self) -> None:
        if self.is_bound:
            self.data = _normalized_data(self.data)
        super().full_clean()


def _normalized_data(data):
    if isinstance(data, QueryDict):
        copy = data.copy()  # request.POST is immutable
        for key, values in copy.lists():
            copy.setlist(key, [_normalize_if_str(v) for v in values])
        return copy
    return {
        key: [_normalize_if_str(v) for v in value]
        if isinstance(value, list | tuple)
        else _normalize_if_str(value)
        for key, value in data.items()
    }


class NormalizedModelForm(NormalizedTextMixin, forms.ModelForm):
    """A ModelForm with normalised input: the ``form`` of admin pages that edit text."""
