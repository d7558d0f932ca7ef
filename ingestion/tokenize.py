"""Keyword tokens for BM25: ``textkit.words`` under the name ingestion has always used.

The tokenizer (jieba words and "_"-marked character pairs for Chinese, lower-cased words for
English) lives in ``textkit.tokens`` with the rest of the project's text rules; this module keeps
the import path that the keyword index, retrieval and the stored chunk tokens were built with.
After changing the tokenizer, ``manage.py rebuild_index`` re-tokenizes every chunk.
"""

from __future__ import annotations

from textkit.tokens import words as tokenize

__all__ = ["tokenize"]
