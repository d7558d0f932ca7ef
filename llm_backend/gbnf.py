"""GBNF, the grammar language llama.cpp enforces, read into a character automaton.

``constrain`` enforces ``GenerationRequest.grammar`` in transformers generation with this, so the
llama.cpp and transformers backends hold the model to one language from one source:

- ``parse_gbnf`` reads the dialect llama.cpp reads (rules, literals with llama.cpp's escapes,
  character classes with ranges and ``^``, groups, ``| ? * +`` and ``{m,n}``, ``.``, comments);
  invalid text is a ``GrammarError``, as llama.cpp refuses it (llama.cpp hangs on ``{3,1}``);
- ``Automaton`` inlines the rules into a character NFA (Thompson) and steps through it as a DFA
  built while it is used: ``fullmatch``, prefix checks, and per state the fewest characters still
  needed to finish. Recursive rules are not regular and raise ``UnsupportedGrammar`` (the citation
  grammar has none).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_CODE_POINT = 0x10FFFF
DEAD = -1  # the state of a text no continuation can complete


class GrammarError(ValueError):
    """The grammar text is not valid GBNF (llama.cpp would refuse it too)."""


class UnsupportedGrammar(GrammarError):
    """Valid GBNF this module cannot enforce (recursive rules: not a regular language)."""


@dataclass(frozen=True)
class CharSet:
    """Code point ranges (inclusive, sorted, merged); ``negated`` means every other character."""

    ranges: tuple[tuple[int, int], ...]
    negated: bool = False

    @classmethod
    def of(cls, ranges: Iterable[tuple[int, int]], negated: bool = False) -> CharSet:
        merged: list[list[int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return cls(tuple((lo, hi) for lo, hi in merged), negated)

    def __contains__(self, char: str) -> bool:
        code = ord(char)
        i = bisect.bisect_right(self.ranges, (code, MAX_CODE_POINT + 1)) - 1
        inside = i >= 0 and self.ranges[i][0] <= code <= self.ranges[i][1]
        return inside != self.negated

    def intersects(self, lo: int, hi: int) -> bool:
        """Whether some character in [lo, hi] is in the set."""
        if not self.negated:
            return any(a <= hi and lo <= b for a, b in self.ranges)
        for a, b in self.ranges:  # find a code point in [lo, hi] no excluded range covers
            if a <= lo <= b:
                lo = b + 1
        return lo <= hi

    def may_start(self, lo: int, hi: int) -> bool:
        """Whether a character known only to lie in [lo, hi] (part of its UTF-8 bytes read) may
        match: llama.cpp's rule (``llama_grammar_match_partial_char``), kept so both backends
        judge a token that splits a character alike. A class must contain some character of the
        range; a negated class must exclude none of them, which is stricter than necessary
        (``[^。]`` refuses the first half of "、", a neighbour of "。") but what llama.cpp does."""
        overlaps = any(a <= hi and lo <= b for a, b in self.ranges)
        return not overlaps if self.negated else overlaps


# --- GBNF parsing -------------------------------------------------------------------------------
# A node is ("lit", str) | ("set", CharSet) | ("ref", name) | ("seq", [nodes]) | ("alt", [nodes])
# | ("rep", node, min, max or None).


def _name_char(c: str) -> bool:
    return c == "-" or (c.isascii() and c.isalnum())


class _Parser:
    """A recursive-descent reader of llama.cpp's GBNF (``common/grammar-parser`` in llama.cpp)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str) -> GrammarError:
        line = self.text.count("\n", 0, self.pos) + 1
        return GrammarError(f"{message} (line {line}: {self.text[self.pos : self.pos + 30]!r})")

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def space(self, newline_ok: bool) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t":
                self.pos += 1
            elif c == "#":
                while self.pos < len(self.text) and self.text[self.pos] not in "\r\n":
                    self.pos += 1
            elif c in "\r\n" and newline_ok:
                self.pos += 1
            else:
                break

    def name(self) -> str:
        start = self.pos
        while _name_char(self.peek()):
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a rule name")
        return self.text[start : self.pos]

    def char(self) -> int:
        c = self.peek()
        if not c:
            raise self.error("unexpected end of grammar")
        if c != "\\":
            self.pos += 1
            return ord(c)
        e = self.peek(1)
        widths = {"x": 2, "u": 4, "U": 8}
        if e in widths:
            digits = self.text[self.pos + 2 : self.pos + 2 + widths[e]]
            if len(digits) != widths[e] or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise self.error("bad hex escape")
            self.pos += 2 + widths[e]
            return int(digits, 16)
        simple = {
            "t": "\t",
            "r": "\r",
            "n": "\n",
            "\\": "\\",
            '"': '"',
            "[": "[",
            "]": "]",
            "-": "-",
        }
        if e not in simple:
            raise self.error(f"unknown escape \\{e}")
        self.pos += 2
        return ord(simple[e])

    def grammar(self) -> dict[str, Any]:
        rules: dict[str, Any] = {}
        self.space(newline_ok=True)
        while self.pos < len(self.text):
            name = self.name()
            self.space(newline_ok=False)
            if not self.text.startswith("::=", self.pos):
                raise self.error("expected ::=")
            self.pos += 3
            self.space(newline_ok=True)
            if name in rules:
                raise self.error(f"rule {name} defined twice")
            rules[name] = self.alternates(nested=False)
            if self.peek() not in ("", "\n", "\r"):
                raise self.error("expected the end of the rule")
            self.space(newline_ok=True)
        if "root" not in rules:
            raise GrammarError("the grammar has no root rule")
        for name in _references(rules.values()):
            if name not in rules:
                raise GrammarError(f"undefined rule {name}")
        return rules

    def alternates(self, nested: bool) -> Any:
        options = [self.sequence(nested)]
        while self.peek() == "|":
            self.pos += 1
            self.space(newline_ok=True)
            options.append(self.sequence(nested))
        return options[0] if len(options) == 1 else ("alt", options)

    def sequence(self, nested: bool) -> Any:
        items: list[Any] = []
        while True:
            c = self.peek()
            if c == '"':
                self.pos += 1
                chars = []
                while self.peek() != '"':
                    chars.append(chr(self.char()))
                self.pos += 1
                item: Any = ("lit", "".join(chars))
            elif c == "[":
                self.pos += 1
                negated = self.peek() == "^"
                self.pos += negated
                ranges = []
                while self.peek() != "]":
                    lo = self.char()
                    hi = lo
                    if self.peek() == "-" and self.peek(1) not in ("]", ""):
                        self.pos += 1
                        hi = self.char()
                    ranges.append((lo, hi))
                self.pos += 1
                item = ("set", CharSet.of(ranges, negated))
            elif c == ".":
                self.pos += 1
                item = ("set", CharSet((), negated=True))
            elif c == "(":
                self.pos += 1
                self.space(newline_ok=True)
                item = self.alternates(nested=True)
                if self.peek() != ")":
                    raise self.error("expected )")
                self.pos += 1
            elif _name_char(c):
                item = ("ref", self.name())
            elif c in ("*", "+", "?", "{"):
                if not items:
                    raise self.error(f"{c} with nothing before it")
                items[-1] = self.postfix(items[-1])
                self.space(newline_ok=nested)
                continue
            else:
                break
            items.append(item)
            self.space(newline_ok=nested)
        if not items:
            return ("seq", [])  # an empty alternative matches the empty string, as in llama.cpp
        return items[0] if len(items) == 1 else ("seq", items)

    def postfix(self, item: Any) -> Any:
        c = self.peek()
        self.pos += 1
        if c == "*":
            return ("rep", item, 0, None)
        if c == "+":
            return ("rep", item, 1, None)
        if c == "?":
            return ("rep", item, 0, 1)
        self.space(newline_ok=False)
        low = self.integer()
        high: int | None = low
        self.space(newline_ok=False)
        if self.peek() == ",":
            self.pos += 1
            self.space(newline_ok=False)
            high = self.integer() if self.peek().isdigit() else None
            self.space(newline_ok=False)
        if self.peek() != "}" or (high is not None and high < low):
            raise self.error("bad {m,n} repetition")
        self.pos += 1
        return ("rep", item, low, high)

    def integer(self) -> int:
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a number")
        return int(self.text[start : self.pos])


def _references(nodes: Iterable[Any]) -> Iterable[str]:
    for node in nodes:
        if node[0] == "ref":
            yield node[1]
        elif node[0] in ("seq", "alt"):
            yield from _references(node[1])
        elif node[0] == "rep":
            yield from _references([node[1]])


def parse_gbnf(text: str) -> dict[str, Any]:
    return _Parser(text).grammar()


# --- automaton ----------------------------------------------------------------------------------


class Automaton:
    """The grammar's language as a character NFA, stepped as a DFA built while it is used.

    DFA states are small integers (``start``; ``-1`` is dead); each is the epsilon-closed set of
    NFA states reachable on the text so far, and its transitions are cached per character.
    """

    def __init__(self, grammar: str) -> None:
        self._rules = parse_gbnf(grammar)
        self._eps: list[list[int]] = []
        self._edges: list[list[tuple[CharSet, int]]] = []
        self._final = self._build(("ref", "root"), self._new(), ())
        self._closures: dict[int, frozenset[int]] = {}
        self._nfa_distance = self._distances()
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._moves: list[dict[str, int]] = []
        self._accepting: list[bool] = []
        self._distance: list[float] = []
        # Compiled automata are shared (compile_grammar's cache); growing the DFA is locked so two
        # backends in one process cannot number one state twice.
        self._grow = threading.Lock()
        self.start = self._intern(self._closure(0))

    # NFA construction
    def _new(self) -> int:
        self._eps.append([])
        self._edges.append([])
        return len(self._eps) - 1

    def _build(self, node: Any, start: int, stack: tuple[str, ...]) -> int:
        kind = node[0]
        if kind == "lit":
            for char in node[1]:
                nxt = self._new()
                self._edges[start].append((CharSet(((ord(char), ord(char)),)), nxt))
                start = nxt
            return start
        if kind == "set":
            nxt = self._new()
            self._edges[start].append((node[1], nxt))
            return nxt
        if kind == "seq":
            for item in node[1]:
                start = self._build(item, start, stack)
            return start
        if kind == "alt":
            end = self._new()
            for option in node[1]:
                entry = self._new()
                self._eps[start].append(entry)
                self._eps[self._build(option, entry, stack)].append(end)
            return end
        if kind == "ref":
            if node[1] in stack:
                raise UnsupportedGrammar(
                    f"rule {node[1]} refers to itself ({' -> '.join((*stack, node[1]))}): "
                    "recursive grammars are not regular and cannot be enforced here"
                )
            return self._build(self._rules[node[1]], start, (*stack, node[1]))
        _, item, low, high = node
        for _ in range(low):
            start = self._build(item, start, stack)
        if high is None:
            loop = self._new()
            self._eps[start].append(loop)
            self._eps[self._build(item, loop, stack)].append(loop)
            return loop
        for _ in range(high - low):
            end = self._new()
            self._eps[start].append(end)
            self._eps[self._build(item, start, stack)].append(end)
            start = end
        return start

    def _closure(self, state: int) -> frozenset[int]:
        if state not in self._closures:
            seen, todo = {state}, [state]
            while todo:
                for nxt in self._eps[todo.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        todo.append(nxt)
            self._closures[state] = frozenset(seen)
        return self._closures[state]

    def _distances(self) -> list[float]:
        """Fewest characters from each NFA state to the final one (0-1 BFS on reversed edges)."""
        back: list[list[tuple[int, int]]] = [[] for _ in self._eps]
        for src, targets in enumerate(self._eps):
            for dst in targets:
                back[dst].append((src, 0))
        for src, edges in enumerate(self._edges):
            for charset, dst in edges:
                if charset.negated or charset.ranges:  # an empty class matches nothing
                    back[dst].append((src, 1))
        dist = [math.inf] * len(self._eps)
        dist[self._final] = 0
        queue = deque([self._final])
        while queue:
            state = queue.popleft()
            for src, cost in back[state]:
                if dist[state] + cost < dist[src]:
                    dist[src] = dist[state] + cost
                    (queue.appendleft if cost == 0 else queue.append)(src)
        return dist

    def _intern(self, states: frozenset[int]) -> int:
        if not states:
            return DEAD
        if states not in self._ids:
            self._ids[states] = len(self._sets)
            self._sets.append(states)
            self._moves.append({})
            self._accepting.append(self._final in states)
            self._distance.append(min(self._nfa_distance[s] for s in states))
        return self._ids[states]

    # DFA use
    def step(self, state: int, char: str) -> int:
        if state == DEAD:
            return DEAD
        moves = self._moves[state]
        nxt = moves.get(char)
        if nxt is None:
            with self._grow:
                reached: set[int] = set()
                for nfa_state in self._sets[state]:
                    for charset, dst in self._edges[nfa_state]:
                        if char in charset:
                            reached |= self._closure(dst)
                nxt = moves[char] = self._intern(frozenset(reached))
        return nxt

    def walk(self, text: str, state: int | None = None) -> int:
        state = self.start if state is None else state
        for char in text:
            state = self.step(state, char)
            if state == DEAD:
                break
        return state

    def accepting(self, state: int) -> bool:
        return state != DEAD and self._accepting[state]

    def distance(self, state: int) -> float:
        """The fewest characters still needed to reach a complete match (inf when dead)."""
        return math.inf if state == DEAD else self._distance[state]

    def allows_partial(self, state: int, lo: int, hi: int) -> bool:
        """Whether a character with a code point in [lo, hi] may follow (``CharSet.may_start``)."""
        if state == DEAD:
            return False
        return any(
            charset.may_start(lo, hi)
            for nfa_state in self._sets[state]
            for charset, _ in self._edges[nfa_state]
        )

    def next_classes(self, state: int) -> tuple[CharSet, ...]:
        """The character classes a next character must fall in (any one of them)."""
        if state == DEAD:
            return ()
        return tuple({cs for nfa_state in self._sets[state] for cs, _ in self._edges[nfa_state]})

    def distance_through(self, state: int, lo: int, hi: int) -> float:
        """The fewest characters needed to finish after one more character from [lo, hi]."""
        if state == DEAD:
            return math.inf
        return min(
            (
                self._nfa_distance[dst]
                for nfa_state in self._sets[state]
                for charset, dst in self._edges[nfa_state]
                if charset.intersects(lo, hi)
            ),
            default=math.inf,
        )

    def fullmatch(self, text: str) -> bool:
        return self.accepting(self.walk(text))

    def is_prefix(self, text: str) -> bool:
        return self.distance(self.walk(text)) < math.inf


@lru_cache(maxsize=64)
def compile_grammar(grammar: str) -> Automaton:
    """The automaton for a GBNF text (cached: the pipeline sends a few distinct grammars)."""
    return Automaton(grammar)
