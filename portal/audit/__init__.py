"""The audit trail: who did what, when, from where; hash-chained so edits are detectable."""
