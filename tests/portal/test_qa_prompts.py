"""The prompt's canary: secret to the deployment, the same in every process."""

from __future__ import annotations

import os
import subprocess
import sys

from portal.qa.prompts import build_prompt, prompt_canary
from portal.qa.verify import PassageEvidence

PASSAGE = PassageEvidence.of("1", "Mail renewal takes 6 to 8 weeks.")


def _prompt():
    return build_prompt(
        question="How long does mail renewal take?",
        passages=[("1", "Passport renewal", PASSAGE.text)],
        language="en",
        max_sentences=3,
    )


def test_the_canary_is_keyed_by_the_secret_so_prompts_repeat_exactly(settings):
    first = _prompt()
    assert first.canary in first.messages[0]["content"]
    assert _prompt().messages == first.messages  # the same prompt, so the same greedy draft
    settings.SECRET_KEY = "another-deployment-key-0123456789abcdef"
    assert prompt_canary() != first.canary  # another deployment cannot guess this one's


def test_a_new_process_draws_the_same_canary(settings):
    """A canary drawn per process changed the prompt after every restart, and so the drafts of
    two evaluation runs of the same code."""
    code = "import django; django.setup(); from portal.qa.prompts import prompt_canary; "
    code += "print(prompt_canary())"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    env["SECRET_KEY"] = settings.SECRET_KEY
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip().splitlines()[-1] == prompt_canary()
