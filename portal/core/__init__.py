"""Cross-cutting pieces every app uses: access policies, enqueue-on-commit, the launcher."""
