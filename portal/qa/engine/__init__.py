"""The answer engine (``answer.py``), its relevance step (``relevance.py``) and the one
verify-quote-guard loop every written text goes through (``claims.py``)."""
