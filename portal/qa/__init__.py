"""Questions and answers: the citizen's ask page and the answer pipeline."""
