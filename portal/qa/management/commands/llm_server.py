"""Run the local inference server (llama-server) that LLM_OPENAI_BASE_URL points at.

manage.py llm_server                  # replace this process with llama-server
manage.py llm_server --host 0.0.0.0   # compose: listen for the other containers
manage.py llm_server --plan           # JSON: would `make run` start one, and why (not)

The server loads the serving adapter's GGUF LoRA, else LLM_LORA_PATH (``local_server_lora``),
after checking its hash; restart it after `manage.py finetune promote` or `rollback`.
"""

from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError

from llm_backend.base import BackendError
from portal.qa.backends import local_server_lora, local_server_plan, local_server_spec


class Command(BaseCommand):
    help = "Run llama-server for LLM_OPENAI_BASE_URL (built by `make install`)."

    def add_arguments(self, parser):
        parser.add_argument("--plan", action="store_true", help="print the start decision as JSON")
        parser.add_argument("--host", default=None, help="listen address (default: from the URL)")
        parser.add_argument("--port", type=int, default=None, help="port (default: from the URL)")

    def handle(self, *args, plan: bool, host: str | None, port: int | None, **options):
        if plan:
            self.stdout.write(json.dumps(local_server_plan()))
            return
        spec = local_server_spec(host=host, port=port)
        for what, path in (("llama-server", spec.binary), ("model file", spec.model_path)):
            if not path.exists():
                raise CommandError(f"no {what} at {path}: run `make install` (or set LLM_SERVER_BIN"
                                   " / LLM_MODEL_PATH)")  # fmt: skip
        try:  # the adapter's hash (and its base's) are checked before the server starts
            lora = local_server_lora()
        except BackendError as exc:
            raise CommandError(str(exc)) from exc
        if lora is not None:
            spec = local_server_spec(host=host, port=port, lora=lora)
            self.stderr.write(f"llama-server: LoRA adapter {lora.label()} ({lora.path})")
        self.stderr.write(f"llama-server: {' '.join(spec.argv())}")
        # exec, not a child: signals from make run / compose reach the server itself.
        os.execv(spec.binary, spec.argv())  # noqa: S606 - the argv is ours (ServerSpec), no shell
