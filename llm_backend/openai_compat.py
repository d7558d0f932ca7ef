"""Any OpenAI-compatible chat server (vLLM, SGLang, llama.cpp server) over HTTP with streaming.

POST {base_url}/chat/completions with ``stream: true`` and read the server-sent events. ``base_url``
may be given with or without the trailing ``/v1`` ("http://gpu-host:8000" and
"http://gpu-host:8000/v1" are the same server).

Grammar: servers spell it differently, so the request field is configurable as ``grammar_field``
(a dotted path builds nested objects): llama.cpp server ``grammar``; vLLM ``guided_grammar`` (older)
or ``structured_outputs.grammar`` (newer); empty to never send one. ``usage.constrained`` is True
when the field was sent, i.e. when we asked the server to constrain; a server that silently ignores
an unknown field cannot be told apart, so the pipeline's format check stays on regardless.

Every failure an operator can fix becomes a BackendError naming the URL: nothing listening, a
timeout, an HTTP error with the server's own message, or a stream that is not valid SSE/JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx

from llm_backend.base import (
    BackendError,
    BaseBackend,
    GenerationRequest,
    GenerationStream,
    Usage,
)


def chat_completions_url(base_url: str) -> str:
    base = base_url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


def _set_dotted(body: dict[str, Any], path: str, value: object) -> None:
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


class OpenAIBackend(BaseBackend):
    kind = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        grammar_field: str = "grammar",
        include_usage: bool = True,
        extra_body: dict[str, Any] | None = None,
        adapter_id: str | None = None,
    ) -> None:
        if not base_url:
            raise BackendError("the openai backend needs a base_url (LLM_OPENAI_BASE_URL)")
        if not model:
            raise BackendError("the openai backend needs a model name (LLM_OPENAI_MODEL)")
        # With vLLM a LoRA adapter is served under its own model name: that name is the adapter id.
        super().__init__(model_id=model, adapter_id=adapter_id)
        self.url = chat_completions_url(base_url)
        self.model = model
        self.grammar_field = grammar_field
        self.include_usage = include_usage
        self.extra_body = dict(extra_body or {})
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # read= is the longest silence allowed between two chunks, not the whole answer's time.
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s)),
        )
        self.timeout_s = timeout_s

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stream": True,
        }
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        if request.stop:
            body["stop"] = list(request.stop)
        body.update(self.extra_body)
        if request.grammar and self.grammar_field:
            _set_dotted(body, self.grammar_field, request.grammar)
        return body

    def stream(self, request: GenerationRequest) -> GenerationStream:
        constrained = bool(request.grammar and self.grammar_field)
        body = self.body(request)

        def produce(usage: Usage) -> Iterator[str]:
            yield from self._events(body, usage)

        # No lock: the HTTP client is thread-safe and a GPU server batches concurrent requests,
        # so answers in parallel threads should reach it in parallel.
        return GenerationStream(produce, lock=None, constrained=constrained)

    def _events(self, body: dict[str, Any], usage: Usage) -> Iterator[str]:
        try:
            yield from self._attempt(body, usage)
        except httpx.RemoteProtocolError:
            # A kept-alive connection the server had already closed (llama-server closes one
            # after a few requests): nothing was received, so the request is sent once more.
            try:
                yield from self._attempt(body, usage)
            except httpx.RemoteProtocolError as exc:
                raise BackendError(f"HTTP failure talking to {self.url}: {exc}") from exc

    def _attempt(self, body: dict[str, Any], usage: Usage) -> Iterator[str]:
        deltas = 0
        try:
            with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise BackendError(
                        f"{self.url} answered HTTP {response.status_code}: "
                        f"{_error_message(response.text)}"
                    )
                if response.headers.get("content-type", "").startswith("application/json"):
                    # A server that ignored stream=true sent one whole completion.
                    payload = _parse_json(response.read().decode("utf-8", "replace"), self.url)
                    text = _message_text(payload, self.url)
                    _read_usage(payload, usage)
                    usage.finish_reason = payload["choices"][0].get("finish_reason") or "stop"
                    if text:
                        yield text
                    return
                for delta in stream_deltas(
                    _sse_payloads(response.iter_lines(), self.url), usage, self.url
                ):
                    deltas += 1
                    yield delta
        except httpx.ConnectError as exc:
            raise BackendError(
                f"cannot connect to the OpenAI-compatible server at {self.url} ({exc}); "
                "is it running, and is LLM_OPENAI_BASE_URL right?"
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"the server at {self.url} did not answer within {self.timeout_s:g} s "
                f"({type(exc).__name__}); raise LLM_OPENAI_TIMEOUT_S or check the server's load"
            ) from exc
        except httpx.RemoteProtocolError as exc:
            if deltas == 0 and not usage.finish_reason:
                raise  # before the answer began: _events retries it
            raise BackendError(f"HTTP failure talking to {self.url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise BackendError(f"HTTP failure talking to {self.url}: {exc}") from exc
        finally:
            if not usage.completion_tokens:
                # No usage block from the server: each streamed delta is about one token.
                usage.completion_tokens = deltas

    def warm(self, request: GenerationRequest, *, slot: int | None = None) -> None:
        """One token for ``request``'s prompt, in server slot ``slot`` (llama-server's
        ``id_slot``; other servers ignore the field), so that slot holds the prompt's prefix."""
        body = self.body(replace(request, max_tokens=1, grammar=None))
        body["stream"] = False
        body.pop("stream_options", None)
        if slot is not None:
            body["id_slot"] = slot
        try:
            response = self._client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise BackendError(f"HTTP failure talking to {self.url}: {exc}") from exc
        if response.status_code >= 400:
            raise BackendError(
                f"{self.url} answered HTTP {response.status_code}: {_error_message(response.text)}"
            )

    def close(self) -> None:
        self._client.close()


def stream_deltas(payloads: Iterator[dict[str, Any]], usage: Usage, url: str) -> Iterator[str]:
    """Text deltas from chat-completion chunks; usage and finish reason recorded on the way.

    A stream that ends before any choice carried a ``finish_reason`` was cut short (the server was
    restarted, or it interrupts a request when the next arrives: llama_cpp.server does by default),
    so the partial answer is an error rather than a silently short (or empty) one.
    """
    for payload in payloads:
        if "error" in payload:
            raise BackendError(f"{url} reported an error mid-stream: {payload['error']}")
        _read_usage(payload, usage)
        for choice in payload.get("choices") or ():
            delta = (choice.get("delta") or {}).get("content") or ""
            if choice.get("finish_reason"):
                usage.finish_reason = choice["finish_reason"]
            if delta:
                yield delta
    if usage.finish_reason is None:
        raise BackendError(
            f"{url} ended the stream before finishing the answer (no finish_reason): the request "
            "was interrupted; a llama.cpp Python server needs --interrupt_requests False"
        )


def _sse_payloads(lines: Iterator[str], url: str) -> Iterator[dict[str, Any]]:
    """JSON payloads of server-sent events; multi-line ``data:`` fields are joined per event."""
    data: list[str] = []
    seen_any = False
    for line in lines:
        if line == "":
            if data:
                joined = "\n".join(data)
                data = []
                if joined.strip() == "[DONE]":
                    return
                seen_any = True
                yield _parse_json(joined, url)
            continue
        if line.startswith(":"):
            continue  # an SSE comment (keep-alive)
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
        elif field not in ("event", "id", "retry"):
            raise BackendError(f"malformed event stream from {url}: unexpected line {line[:200]!r}")
    if data:
        joined = "\n".join(data)
        if joined.strip() != "[DONE]":
            yield _parse_json(joined, url)
        return
    if not seen_any:
        raise BackendError(f"{url} closed the stream without sending any event")


def _parse_json(text: str, url: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BackendError(f"malformed JSON from {url}: {exc}: {text[:200]!r}") from exc
    if not isinstance(payload, dict):
        raise BackendError(f"malformed payload from {url}: expected an object, got {text[:200]!r}")
    return payload


def _message_text(payload: dict[str, Any], url: str) -> str:
    try:
        return payload["choices"][0]["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BackendError(
            f"{url} sent a completion without choices: {str(payload)[:200]}"
        ) from exc


def _read_usage(payload: dict[str, Any], usage: Usage) -> None:
    if isinstance(block := payload.get("usage"), dict):
        usage.prompt_tokens = int(block.get("prompt_tokens") or usage.prompt_tokens)
        usage.completion_tokens = int(block.get("completion_tokens") or usage.completion_tokens)
        details = block.get("prompt_tokens_details") or {}
        usage.cached_prompt_tokens = int(details.get("cached_tokens") or 0)
    # llama.cpp's own server adds engine timings to the last chunk.
    if isinstance(timings := payload.get("timings"), dict):
        if timings.get("prompt_ms") is not None:
            usage.prefill_s = float(timings["prompt_ms"]) / 1000
        if timings.get("predicted_ms") is not None:
            usage.decode_s = float(timings["predicted_ms"]) / 1000


def _error_message(body: str) -> str:
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        return body.strip()[:300] or "(empty body)"
    if isinstance(payload, dict):
        error = payload.get("error", payload.get("detail", payload))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(payload)[:300]
