"""GBNF grammars enforced in transformers generation: a logits processor over a token automaton.

The llama.cpp backend hands ``GenerationRequest.grammar`` (GBNF, ``grammars.citation_grammar``) to
llama.cpp's own grammar sampler. Here the same text is compiled into a character automaton
(``gbnf``), so both backends enforce one language from one source, not a grammar on one side and
a hand-kept twin on the other.

``GrammarLogitsProcessor`` follows the generated tokens as bytes (a token may hold half of a UTF-8
character; it is judged by llama.cpp's rule, ``gbnf.CharSet.may_start``) and lets through only
tokens that keep the text a prefix of the language. At temperature 0 it checks the model's greedy
token first and returns the scores untouched when it is allowed, the check-first rule of
``llamacpp._Grammar``; otherwise it keeps the best allowed token. Sampling keeps the best ``keep``
allowed tokens (``keep`` = the sampler's top-k), the set llama.cpp's full mask followed by its top-k
leaves. End-of-text is allowed only after a complete match, and forced when nothing else is. Special
tokens other than end-of-text are never allowed (they vanish from the text).

One thing llama.cpp does not do: with ``max_new_tokens`` given, a token is allowed only if the
answer can still be finished in the tokens left (the fewest characters to a complete match, one
token each), so an answer that runs long closes its sentence with a marker instead of being cut
mid-sentence at the limit, where the format check would reject it.

Cost (CPU, one thread, citation grammar with three labels, processor time per generated token):
- the tiny random Qwen2 of tests/llm_backend/tiny_hf.py (400-token vocabulary, 64 tokens, six
  seeds): greedy median 19 us (mean 29 us), sampled median 0.13 ms (mean 0.26 ms), against
  1.0-1.2 ms for the model step;
- Qwen2.5 0.5B (151,936 tokens; the product's GGUF dequantized into transformers in float32, 48
  tokens, three questions): greedy mean 0.3-0.8 ms, sampled mean 2.5-9 ms (at most 36 ms, when a
  state first lists its allowed tokens), against 160-250 ms for the model step on the same shared
  2-core machine. Building the vocabulary's byte table takes 0.8 s, once per backend.
Refused candidates are read in growing top-k blocks; past 1024 the state's allowed tokens are listed
through a first-character index (``TokenConstraint.allowed_tokens``) and cached per state.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from typing import Any

from llm_backend.gbnf import DEAD, MAX_CODE_POINT, Automaton

logger = logging.getLogger(__name__)


# --- tokens as bytes ----------------------------------------------------------------------------


def _utf8_split(data: bytes) -> tuple[str, bytes] | None:
    """``data`` as (complete text, trailing bytes of one unfinished character); None if invalid."""
    tail_start = len(data)
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # a lead (or ASCII) byte
            if _utf8_length(byte) > back:
                tail_start = len(data) - back
            break
    try:
        text = data[:tail_start].decode("utf-8")
    except UnicodeDecodeError:
        return None
    tail = data[tail_start:]
    if tail and _tail_range(tail) is None:
        return None
    return text, tail


def _utf8_length(lead: int) -> int:
    """The length of the UTF-8 sequence that ``lead`` begins (1 for ASCII and invalid bytes)."""
    for length, mask, value in ((2, 0xE0, 0xC0), (3, 0xF0, 0xE0), (4, 0xF8, 0xF0)):
        if lead & mask == value:
            return length
    return 1


def _utf8_missing(tail: bytes) -> int:
    return _utf8_length(tail[0]) - len(tail)


def _tail_range(tail: bytes) -> tuple[int, int] | None:
    """The code points a character beginning with ``tail`` can have (None if none can)."""
    lead = tail[0]
    if 0xC2 <= lead <= 0xDF:
        need, bits = 2, lead & 0x1F
    elif 0xE0 <= lead <= 0xEF:
        need, bits = 3, lead & 0x0F
    elif 0xF0 <= lead <= 0xF4:
        need, bits = 4, lead & 0x07
    else:
        return None
    for byte in tail[1:]:
        bits = (bits << 6) | (byte & 0x3F)
    missing = need - len(tail)
    lo, hi = bits << (6 * missing), ((bits + 1) << (6 * missing)) - 1
    # Overlong forms and UTF-16 surrogates are not characters: a tail that can only become one
    # would lead to a dead end (strict decoding refuses every continuation).
    lo, hi = max(lo, (0x80, 0x800, 0x10000)[need - 2]), min(hi, MAX_CODE_POINT)
    if lo > hi or (lo >= 0xD800 and hi <= 0xDFFF):
        return None
    return lo, hi


def _bytes_to_unicode() -> dict[str, int]:
    """GPT-2 byte-level BPE's byte <-> printable character table, inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def _decoder_types(tokenizer: Any) -> set[str]:
    import json

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return set()
    found: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            if "type" in node:
                found.add(str(node["type"]))
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(json.loads(backend.to_str()).get("decoder"))
    return found


def token_bytes(tokenizer: Any, size: int) -> list[bytes | None]:
    """The bytes each token id writes into the text; None for special and unknown ids.

    Byte-level BPE (GPT-2, Qwen, Llama 3) maps its printable alphabet back to bytes; SentencePiece
    style vocabularies turn "▁" into a space and ``<0xHH>`` pieces into that byte. Anything else is
    decoded id by id, and a token that does not decode to whole characters is left out.
    """
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    for token_id, added in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items():
        if getattr(added, "special", False):
            special.add(int(token_id))
    pieces = tokenizer.convert_ids_to_tokens(list(range(min(size, len(tokenizer)))))
    decoders = _decoder_types(tokenizer)
    byte_level = _bytes_to_unicode() if "ByteLevel" in decoders else None
    added_text = {
        int(i): t.content
        for i, t in (getattr(tokenizer, "added_tokens_decoder", None) or {}).items()
    }
    table: list[bytes | None] = [None] * size
    for token_id, piece in enumerate(pieces):
        if token_id in special or piece is None:
            continue
        if token_id in added_text:
            table[token_id] = added_text[token_id].encode("utf-8")
        elif byte_level is not None and all(c in byte_level for c in piece):
            table[token_id] = bytes(byte_level[c] for c in piece)
        elif "ByteFallback" in decoders and len(piece) == 6 and piece.startswith("<0x"):
            table[token_id] = bytes([int(piece[3:5], 16)])
        elif "Replace" in decoders or "Metaspace" in decoders:
            table[token_id] = piece.replace("\u2581", " ").encode("utf-8")
        else:
            text = tokenizer.decode([token_id])
            table[token_id] = None if "\ufffd" in text else text.encode("utf-8")
    return table


# --- the logits processor -----------------------------------------------------------------------

# The text state between tokens: the DFA state of the complete characters, and the bytes of an
# unfinished character.
_State = tuple[int, bytes]


class Vocabulary:
    """A model's tokens as bytes, with each token's whole characters and unfinished tail."""

    def __init__(self, tokens: Sequence[bytes | None]) -> None:
        self.tokens = list(tokens)
        self.split = [_utf8_split(b) if b else None for b in self.tokens]
        # An index for listing the tokens a state allows: by first character; tokens that are the
        # start of one character; tokens that begin inside a character (valid only after those).
        self.by_first: dict[str, list[int]] = {}
        self.halves: list[int] = []
        self.continuations: list[int] = []
        for token, (data, split) in enumerate(zip(self.tokens, self.split, strict=True)):
            if split is None:
                if data and data[0] & 0xC0 == 0x80:
                    self.continuations.append(token)
            elif split[0]:
                self.by_first.setdefault(split[0][0], []).append(token)
            else:
                self.halves.append(token)

    @classmethod
    def from_tokenizer(cls, tokenizer: Any, size: int) -> Vocabulary:
        return cls(token_bytes(tokenizer, size))

    def __len__(self) -> int:
        return len(self.tokens)


class TokenConstraint:
    """One grammar over one vocabulary: which token may follow which text state (cached)."""

    _CACHE_LIMIT = 50_000  # (state, token) pairs, about 10 MB

    def __init__(self, automaton: Automaton, vocabulary: Vocabulary) -> None:
        self.automaton = automaton
        self.vocabulary = vocabulary
        self._cache: dict[tuple[_State, int], _State | None] = {}
        self._tail_distance: dict[_State, float] = {}
        self._allowed: dict[_State, list[tuple[int, float]]] = {}

    @property
    def start(self) -> _State:
        return (self.automaton.start, b"")

    def advance(self, state: _State, token: int) -> _State | None:
        """The state after ``token``, or None when it leaves the language."""
        key = (state, token)
        if key in self._cache:
            return self._cache[key]
        result = self._advance(state, token)
        if len(self._cache) >= self._CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _advance(self, state: _State, token: int) -> _State | None:
        tokens = self.vocabulary.tokens
        if token >= len(tokens) or not tokens[token]:
            return None
        dfa, pending = state
        split = (
            self.vocabulary.split[token] if not pending else _utf8_split(pending + tokens[token])
        )
        if split is None:
            return None
        text, tail = split
        dfa = self.automaton.walk(text, dfa)
        if dfa == DEAD:
            return None
        if tail and not self.automaton.allows_partial(dfa, *_tail_range(tail)):  # type: ignore[misc]
            return None
        return (dfa, tail)

    def complete(self, state: _State) -> bool:
        return not state[1] and self.automaton.accepting(state[0])

    def allowed_tokens(self, state: _State) -> list[tuple[int, float]]:
        """Every token (but end-of-text) that may follow ``state``, with the distance after it.

        Only the groups of tokens whose first character the state accepts are checked, so a state
        that allows a few characters ("1" after "[") lists its tokens in milliseconds even in a
        150k vocabulary. Short lists are cached: those are the states decoding comes back to.
        """
        if state in self._allowed:
            return self._allowed[state]
        dfa, tail = state
        vocabulary = self.vocabulary
        if tail:
            pool: Iterable[int] = vocabulary.continuations
        else:
            # Filtered through the state's character classes, not ``step``: that would cache a
            # dead transition for each of the vocabulary's ~20k first characters in every state.
            classes = self.automaton.next_classes(dfa)
            pool = [
                token
                for char, tokens in vocabulary.by_first.items()
                if any(char in charset for charset in classes)
                for token in tokens
            ] + vocabulary.halves
        found = []
        for token in pool:
            nxt = self.advance(state, token)
            if nxt is not None and (distance := self.distance(nxt)) < math.inf:
                found.append((token, distance))
        if len(found) <= 2048:  # bounded: at most 128 lists of 2048 pairs per grammar
            if len(self._allowed) >= 128:
                self._allowed.clear()
            self._allowed[state] = found
        return found

    def distance(self, state: _State) -> float:
        """The fewest tokens that can finish the answer from ``state``, if every character on the
        way has a token of its own (byte-level vocabularies have one for every byte)."""
        dfa, tail = state
        if not tail:
            return self.automaton.distance(dfa)
        # One token per missing byte of the unfinished character, then the rest from whichever
        # character it can become.
        if (dfa, tail) not in self._tail_distance:
            after = self.automaton.distance_through(dfa, *_tail_range(tail))  # type: ignore[misc]
            self._tail_distance[dfa, tail] = _utf8_missing(tail) + after
        return self._tail_distance[dfa, tail]


class GrammarLogitsProcessor:
    """A transformers logits processor (batch size 1) that keeps the output in the grammar.

    ``keep`` is None for greedy decoding (check the best token first, choose the best allowed one)
    or the number of allowed candidates to leave for sampling (the sampler's top-k).
    """

    _WALK = 1024  # candidates read in score order before listing the state's allowed tokens

    def __init__(
        self,
        constraint: TokenConstraint,
        *,
        prompt_len: int,
        eos_ids: Iterable[int],
        keep: int | None = None,
        max_new_tokens: int | None = None,
    ) -> None:
        self.constraint = constraint
        self.state: _State = constraint.start
        self.eos_ids = frozenset(int(i) for i in eos_ids)
        if not self.eos_ids:
            raise ValueError("a grammar needs an end-of-text token to end on")
        self._prompt_len = prompt_len
        self._consumed = 0
        self._keep = keep
        self._max_new_tokens = max_new_tokens
        # For tests and measurements: steps where the best token was refused, and dead ends.
        self.refused = 0
        self.dead_ends = 0

    def allowed(self, token: int, budget: float = math.inf) -> bool:
        """Whether ``token`` may come next, leaving ``budget`` tokens to finish the answer."""
        if token in self.eos_ids:
            return self.constraint.complete(self.state)
        nxt = self.constraint.advance(self.state, token)
        return nxt is not None and self.constraint.distance(nxt) <= budget

    def _follow(self, input_ids: Any) -> int:
        generated = int(input_ids.shape[1]) - self._prompt_len
        if generated > self._consumed:
            for token in input_ids[0, self._prompt_len + self._consumed :].tolist():
                if token in self.eos_ids:
                    break
                nxt = self.constraint.advance(self.state, token)
                if nxt is None:  # only after a dead end forced a token; keep the last good state
                    break
                self.state = nxt
            self._consumed = generated
        return generated

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if scores.shape[0] != 1:
            raise ValueError("GrammarLogitsProcessor handles one sequence at a time")
        generated = self._follow(input_ids)
        budget = (
            math.inf
            if self._max_new_tokens is None
            else self._max_new_tokens - generated - 1  # tokens that may follow this one
        )
        row = scores[0]
        if self._keep is None:
            best = int(torch.argmax(row))
            if self.allowed(best, budget):
                return scores  # the model's own choice is allowed: nothing to mask
            self.refused += 1
        chosen = self._best_allowed(row, 1 if self._keep is None else self._keep, budget)
        if not chosen:
            self.dead_ends += 1
            logger.warning("no token continues the grammar here; ending the text")
            chosen = sorted(self.eos_ids)[:1]
        masked = torch.full_like(scores, -math.inf)
        index = torch.tensor(chosen, device=scores.device)
        masked[0, index] = row[index]
        return masked

    def _best_allowed(self, row: Any, want: int, budget: float) -> list[int]:
        """The first ``want`` allowed tokens by descending score.

        The best candidates are read in growing top-k blocks (the allowed ones are near the top
        but for a few states); past ``_WALK`` candidates, the state's allowed tokens are listed
        instead (``TokenConstraint.allowed_tokens``) and ranked by score.
        """
        import torch

        size, done, found = min(len(row), max(16, 2 * want)), 0, []
        while done < min(len(row), self._WALK):
            values, ids = torch.topk(row, size)
            for value, token in zip(values[done:].tolist(), ids[done:].tolist(), strict=True):
                if value == -math.inf:  # banned by an earlier processor, as is everything below
                    return found
                if self.allowed(token, budget):
                    found.append(token)
                    if len(found) == want:
                        return found
            done, size = size, min(len(row), size * 8)
        tokens = [
            t for t, distance in self.constraint.allowed_tokens(self.state) if distance <= budget
        ]
        if self.constraint.complete(self.state):
            tokens += sorted(self.eos_ids)
        tokens = [t for t in tokens if t < len(row)]
        if not tokens:
            return []
        index = torch.tensor(tokens, device=row.device)
        values, order = torch.sort(row[index], descending=True)
        keep = values[:want] > -math.inf
        return index[order[:want][keep]].tolist()
