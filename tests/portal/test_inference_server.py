"""The inference server as the default backend: when it is down, answers quote the passages and
say so, readiness names it, and `make run` knows whether to start one."""

from __future__ import annotations

import json
import socket

import pytest
from django.core.management import call_command

from portal.qa.backends import backends_reset, local_server_plan, local_server_spec
from portal.qa.models import Answer
from portal.qa.services import answer_stream
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once the socket closes


@pytest.fixture
def server_down(settings):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    settings.LLM_BACKEND = "openai"
    settings.LLM_OPENAI_BASE_URL = url
    settings.LLM_BACKEND_CONFIG = {"kind": "openai", "base_url": url, "model": "qwen"}
    backends_reset()
    return url


def test_answers_quote_the_passages_and_say_so_while_the_server_is_down(db, server_down):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    events = list(answer_stream(question=QUESTION))
    notices = [e for e in events if e["event"] == "notice"]
    assert [n["kind"] for n in notices] == ["model_unavailable"]
    assert "quotes" in notices[0]["text"]
    done = events[-1]
    assert done["status"] == "answered" and done["sentences"]
    answer = Answer.objects.get(public_id=done["answer_id"])
    assert answer.verification and all(v.get("fallback") for v in answer.verification)
    assert answer.model_unavailable and answer.backend == "openai+extractive"


def test_a_chinese_reader_is_told_in_chinese(db, server_down):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    # The reader asked for Chinese; the sources are English and are quoted as they are.
    events = list(answer_stream(question=QUESTION, language="zh"))
    notices = [e["text"] for e in events if e["event"] == "notice"]
    assert events[-1]["status"] == "answered"
    assert notices and "模型" in notices[0]


def test_readiness_names_the_server_when_it_is_down(client, db, server_down):
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert "model" in body["down"]
    assert body["model"]["backend"] == "openai"
    assert body["model"]["url"] == server_down


def test_make_run_starts_no_server_for_an_in_process_backend(settings):
    settings.LLM_BACKEND = "llamacpp"
    plan = local_server_plan()
    assert plan["start"] is False and "LLM_BACKEND=llamacpp" in plan["why"]


def test_make_run_uses_a_remote_server_as_configured(settings):
    settings.LLM_BACKEND = "openai"
    settings.LLM_OPENAI_BASE_URL = "http://gpu-host:8000/v1"
    plan = local_server_plan()
    assert plan["start"] is False and "gpu-host" in plan["why"]


def test_make_run_says_what_is_missing_before_starting_a_server(settings, tmp_path, capsys):
    settings.LLM_BACKEND = "openai"
    settings.LLM_OPENAI_BASE_URL = f"http://127.0.0.1:{_closed_port()}/v1"
    settings.LLM_SERVER_START = True
    settings.LLM_SERVER_BIN = tmp_path / "no-llama-server"
    call_command("llm_server", "--plan")
    plan = json.loads(capsys.readouterr().out)
    assert plan["start"] is False and "no llama-server" in plan["why"]
    assert "make install" in plan["why"]


def test_the_local_server_listens_where_the_settings_point(settings, tmp_path):
    settings.LLM_OPENAI_BASE_URL = "http://127.0.0.1:9123/v1"
    settings.LLM_OPENAI_MODEL = "qwen-local"
    settings.LLM_SERVER_SLOTS = 3
    settings.LLM_N_CTX = 2048
    spec = local_server_spec()
    argv = spec.argv()
    assert argv[argv.index("--port") + 1] == "9123"
    assert argv[argv.index("--alias") + 1] == "qwen-local"
    assert argv[argv.index("--parallel") + 1] == "3"
    assert argv[argv.index("--ctx-size") + 1] == str(3 * 2048)  # llama.cpp divides it by slots
    assert "--cont-batching" in argv and "--cache-reuse" in argv
    assert spec.base_url == "http://127.0.0.1:9123/v1"


def test_the_benchmark_sees_the_pipelines_own_prompt_and_nothing_is_stored(db):
    from portal.qa.engine.answer import generation_request_preview

    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    request = generation_request_preview(question=QUESTION)
    assert request is not None and request.grammar
    assert any("6 to 8 weeks" in text for _, text in request.passages)
    assert not Answer.objects.exists()  # the preview's row was rolled back
    assert generation_request_preview(question="How do I make a pipe bomb?") is None
