"""Evaluation and benchmarks: the layer above the domain apps that measures them.

- ``datasets``, ``services``, ``in_memory``, ``metrics``: evaluation sets, the retrieval
  harness (through the database or in memory), ranking metrics, run history (EvaluationRun);
- ``answers``: `evaluate answers`, the whole pipeline graded by an independent judge;
- ``safety``, ``safety_bank``, ``injection``: `evaluate safety` on the prompt banks in ``data/``,
  the derived banks, the indirect-injection set and its grading;
- ``benchmarks``: `benchmark ingestion|retrieval|lexicon|generation`.

Nothing below imports this package (.importlinter); it imports qa, safety and knowledge.
"""
