"""`manage.py benchmark ingestion|retrieval|lexicon|generation`: speed and memory measurements
of the real code (ingestion pipeline, search core, safety lexicon, generation backend)."""
