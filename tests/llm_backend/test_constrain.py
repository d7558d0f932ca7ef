"""The GBNF automaton (gbnf) the transformers backend enforces, and its logits processor.

The automaton is compiled from the very GBNF text llama.cpp enforces; the corpus tests check, on
strings generated from the automaton and mutated from them, that it accepts exactly what
``citation_regex`` accepts and what llama.cpp's own grammar sampler accepts.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import regex  # the `regex` package (a transformers dependency): partial matching for prefixes

from llm_backend.constrain import GrammarLogitsProcessor, TokenConstraint, Vocabulary, token_bytes
from llm_backend.gbnf import Automaton, GrammarError, UnsupportedGrammar, compile_grammar
from llm_backend.grammars import REFUSAL, citation_grammar, citation_regex

from .tiny_hf import tiny_tokenizer

# Pieces the random strings are made of: sentence text, every excluded character, Chinese and
# full-width forms (latin_only), labels and their prefixes, and the refusal line.
PIECES = [
    *"Ab z9-,'",
    *"..",  # "." twice: the text rule treats it specially, so it should come up often
    *"[]【】［］",
    *"。！？!?；",
    "\n",
    "_",
    *"中文，、１",
    "\U00020000",  # CJK extension B, outside the Basic Multilingual Plane
    *"1235",
    "12",
    "NOT_IN_SOURCES",
    "NOT_IN",
]
SETTINGS = [
    (["1", "2", "3"], 3, False),
    (["1", "2", "3"], 3, True),
    (["1", "12"], 1, False),  # a label that is a prefix of another
    (["5"], 2, True),  # one label: a single marker per sentence
]


ASCII_PIECES = [p for p in PIECES if p.isascii()]


def _corpus(
    automaton: Automaton, seed: int, size: int = 160, pieces: list[str] = PIECES
) -> list[str]:
    """Strings the automaton accepts (random walks), their one- or two-edit mutations, and random
    strings over the same pieces: roughly half accepted, half not."""
    rng = random.Random(seed)
    valid: list[str] = []
    while len(valid) < size // 2:
        text, state = "", automaton.start
        for _ in range(60):
            if automaton.accepting(state) and rng.random() < 0.15:
                break
            options = [p for p in pieces if automaton.walk(p, state) != -1]
            if not options:  # a complete answer nothing may follow
                break
            piece = rng.choice(options)
            text, state = text + piece, automaton.walk(piece, state)
        if automaton.accepting(state):
            valid.append(text)
    mutated = []
    for text in valid:
        chars = list(text)
        for _ in range(rng.choice((1, 2))):
            i = rng.randrange(len(chars) + 1)
            operation = rng.choice(("insert", "delete", "replace"))
            if operation == "insert" or not chars:
                chars.insert(i, rng.choice(pieces))
            elif operation == "delete":
                del chars[min(i, len(chars) - 1)]
            else:
                chars[min(i, len(chars) - 1)] = rng.choice(pieces)
        mutated.append("".join(chars))
    noise = ["".join(rng.choices(pieces, k=rng.randint(0, 8))) for _ in range(size // 4)]
    return valid + mutated[: size // 4] + noise


@pytest.mark.parametrize(("labels", "max_sentences", "latin_only"), SETTINGS)
def test_the_automaton_accepts_exactly_what_citation_regex_accepts(
    labels, max_sentences, latin_only
):
    grammar = citation_grammar(labels, max_sentences, latin_only=latin_only)
    regex_pattern = citation_regex(labels, max_sentences, latin_only=latin_only)
    automaton = compile_grammar(grammar)
    corpus = _corpus(automaton, seed=len(grammar))
    verdicts = [automaton.fullmatch(text) for text in corpus]
    assert verdicts == [regex_pattern.fullmatch(text) is not None for text in corpus]
    assert 0.3 < sum(verdicts) / len(corpus) < 0.8  # both kinds are well represented
    # Prefixes (what decoding checks at every token) against the regex's partial matching.
    partial = regex.compile(regex_pattern.pattern)
    for text in corpus:
        for end in range(len(text) + 1):
            expected = partial.fullmatch(text[:end], partial=True) is not None
            assert automaton.is_prefix(text[:end]) == expected, text[:end]


@pytest.fixture(scope="module")
def smollm2_vocabulary(smollm2_backend) -> Vocabulary:
    llm = smollm2_backend._llm
    return Vocabulary([llm.detokenize([i]) or None for i in range(llm.n_vocab())])


def _llama_allows(sampler, n_vocab: int, token: int) -> bool:
    scores = np.zeros(n_vocab, dtype=np.single)
    scores[token] = 1.0  # the greedy choice, so the sampler checks exactly this token
    return not math.isinf(sampler(None, scores)[token])


@pytest.mark.parametrize(("labels", "max_sentences", "latin_only"), SETTINGS)
def test_llama_cpp_and_the_processor_decide_every_token_alike(
    smollm2_backend, smollm2_vocabulary, labels, max_sentences, latin_only
):
    """Each corpus string is tokenized by SmolLM2 and fed to llama.cpp's grammar sampler and to
    ``TokenConstraint`` token by token, then end-of-text: the two allow and refuse the same
    tokens. A string both take to the end is one the automaton (and so the regex) accepts; a
    token that splits a character may be refused where the character whole would pass (llama.cpp's
    partial-character rule), so strings without split characters are compared whole as well."""
    grammar = citation_grammar(labels, max_sentences, latin_only=latin_only)
    automaton = compile_grammar(grammar)
    constraint = TokenConstraint(automaton, smollm2_vocabulary)
    llm = smollm2_backend._llm
    eos, n_vocab = llm.token_eos(), llm.n_vocab()
    whole_tokens = 0
    corpus = _corpus(automaton, seed=7 * len(grammar), size=80)
    ascii_corpus = _corpus(automaton, seed=len(grammar), size=80, pieces=ASCII_PIECES)
    for text in corpus + ascii_corpus:
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        sampler = smollm2_backend._grammar(grammar, greedy=True)
        state = constraint.start
        try:
            for token in [*tokens, eos]:
                nxt = None if token == eos else constraint.advance(state, token)
                ours = constraint.complete(state) if token == eos else nxt is not None
                assert _llama_allows(sampler, n_vocab, token) == ours, (text, token)
                if not ours or token == eos:
                    break
                sampler.accept(token)
                state = nxt
        finally:
            sampler.close()
        if all(smollm2_vocabulary.split[t] and not smollm2_vocabulary.split[t][1] for t in tokens):
            whole_tokens += 1
            assert ours == automaton.fullmatch(text), text
    assert whole_tokens >= len(ascii_corpus)  # compared whole, not only token by token


def test_gbnf_features_beyond_the_citation_grammar():
    automaton = Automaton(
        "# a comment\n"
        'root ::= greeting ("," [ \\t]? name){1,2} "!"? | "\\x41\\u00e9\\U0001F600" | any\n'
        'greeting ::= ("hi" | "hello")\n'
        "name ::= [a-zA-Z] [a-z\\-]*  # a trailing comment\n"
        'any ::= "any:" .\n'
    )
    for text in ("hi,Bob", "hello, ann-marie,\tZed!", "A\u00e9\U0001f600", "any:\u4e2d"):
        assert automaton.fullmatch(text), text
    for text in ("hi", "hi,Bob,Ann,Zed", "hi, bob!!", "any:", "any:ab"):
        assert not automaton.fullmatch(text), text
    assert automaton.is_prefix("hello, a") and not automaton.is_prefix("hey")
    assert automaton.distance(automaton.walk("hello")) == 2  # "," and a letter


@pytest.mark.parametrize(
    ("grammar", "message"),
    [
        ("root ::= [", "end of grammar"),
        ('root ::= "a\\q"', "unknown escape"),
        ("root ::= other", "undefined rule other"),
        ('item ::= "a"', "no root"),
        ('root ::= "a"{3,1}', "repetition"),
        ('root ::= "a" )', "end of the rule"),
    ],
)
def test_invalid_gbnf_is_a_grammar_error(grammar, message):
    with pytest.raises(GrammarError, match=message):
        Automaton(grammar)


def test_recursive_rules_are_refused_as_not_regular():
    with pytest.raises(UnsupportedGrammar, match="refers to itself"):
        Automaton('root ::= "(" root ")" | "x"\n')


# --- the processor on a hand-made vocabulary ---------------------------------------------------

EOS = 9
VOCAB = [b"A", b"b", b" ", b"[", b"1", b"]", b".", b"\xe4\xb8", b"\xad", None, None]
NAMES = ["A", "b", " ", "[", "1", "]", ".", "<e4 b8>", "<ad>", "<eos>", "<special>"]
GRAMMAR = citation_grammar(["1"], max_sentences=1)
PROMPT = [7, 7, 7]  # prompt ids are never read as output


def _processor(grammar: str = GRAMMAR, **kwargs) -> GrammarLogitsProcessor:
    constraint = TokenConstraint(compile_grammar(grammar), Vocabulary(VOCAB))
    return GrammarLogitsProcessor(constraint, prompt_len=len(PROMPT), eos_ids=[EOS], **kwargs)


def _step(processor, output: list[str], preference: list[str]):
    """Call the processor after ``output`` with scores ranking ``preference`` first (in order)."""
    import torch

    ids = torch.tensor([PROMPT + [NAMES.index(name) for name in output]])
    scores = torch.zeros(1, len(VOCAB))
    for rank, name in enumerate(preference):
        scores[0, NAMES.index(name)] = 10.0 - rank
    return scores, processor(ids, scores)


def _kept(result) -> list[str]:
    return [NAMES[i] for i in range(len(VOCAB)) if result[0, i] != -math.inf]


def test_greedy_checks_the_best_token_first_and_otherwise_keeps_the_best_allowed():
    processor = _processor()
    scores, result = _step(processor, [], ["A"])
    assert result is scores and processor.refused == 0  # allowed: nothing masked
    # A sentence may not start with "[" or a space; "b" is the best allowed token.
    _, result = _step(processor, [], ["[", " ", "b", "A"])
    assert _kept(result) == ["b"] and processor.refused == 1


def test_end_of_text_only_after_a_complete_answer_and_forced_when_nothing_else_fits():
    processor = _processor()
    _, result = _step(processor, ["A", " "], ["<eos>", "<special>", "b"])
    assert _kept(result) == ["b"]  # the special token never, end-of-text not yet
    scores, result = _step(processor, ["A", " ", "[", "1", "]"], ["<eos>"])
    assert result is scores  # complete: the model may stop
    # After "A[1]." nothing may follow in a one-sentence answer: end-of-text is forced.
    _, result = _step(_processor(), ["A", "[", "1", "]", "."], ["A", "b", "["])
    assert _kept(result) == ["<eos>"]


def test_a_long_answer_keeps_room_to_finish_within_max_new_tokens():
    # Three tokens written, six allowed: the next token must leave "1]" (two) for the last two.
    processor = _processor(max_new_tokens=6)
    _, result = _step(processor, ["A", " ", "b"], ["A", "b", "["])
    assert _kept(result) == ["["]
    scores, result = _step(_processor(), ["A", " ", "b"], ["A", "b", "["])
    assert result is scores  # without a limit the model writes on


def test_half_a_character_counts_what_it_takes_to_finish_after_it():
    # "A[1]" is complete; two tokens may follow it. Half of 中 would start a second sentence that
    # needs its byte, then "[1]": too many. The terminator or the end fit.
    grammar = citation_grammar(["1"], max_sentences=2)
    written = ["A", "[", "1", "]"]
    _, result = _step(_processor(grammar, max_new_tokens=6), written, ["<e4 b8>", "."])
    assert _kept(result) == ["."]
    scores, result = _step(_processor(grammar), written, ["<e4 b8>", "."])
    assert result is scores


def test_a_token_holding_half_a_character_is_judged_by_the_characters_it_can_start():
    # b"\xe4\xb8" begins U+4E00..U+4E3F (中 is U+4E2D): allowed unless the answer is latin_only.
    processor = _processor()
    scores, result = _step(processor, ["A"], ["<e4 b8>"])
    assert result is scores
    _, result = _step(processor, ["A", "<e4 b8>"], ["<eos>", "[", "<ad>"])
    assert _kept(result) == ["<ad>"]  # half a character: neither the end nor a marker yet
    assert processor.state[1] == b"\xe4\xb8"
    scores, result = _step(processor, ["A", "<e4 b8>", "<ad>"], ["["])
    assert result is scores and processor.state[1] == b""  # 中 completed
    latin = _processor(citation_grammar(["1"], max_sentences=1, latin_only=True))
    _, result = _step(latin, ["A"], ["<e4 b8>", "b"])
    assert _kept(result) == ["b"]


def test_sampling_keeps_the_best_allowed_candidates_up_to_top_k():
    processor = _processor(keep=3)
    _, result = _step(processor, ["A"], ["[", "<eos>", "]", "b", "1", "A", " ", "."])
    # "]" and end-of-text are refused; "[", "b" and "1" are the best three allowed.
    assert _kept(result) == ["b", "[", "1"]


def test_token_bytes_rebuild_what_the_tokenizer_decodes(tmp_path):
    tokenizer = tiny_tokenizer(tmp_path)
    table = token_bytes(tokenizer, len(tokenizer) + 5)  # ids past the tokenizer: None
    assert table[-5:] == [None] * 5
    for special in tokenizer.all_special_ids:
        assert table[special] is None
    rng = random.Random(0)
    ordinary = [i for i, b in enumerate(table) if b]
    text = "成年人可以通过邮寄方式续办护照。 Adults may renew [1]."
    for ids in [tokenizer.encode(text)] + [rng.choices(ordinary, k=12) for _ in range(50)]:
        joined = b"".join(table[i] for i in ids)
        assert joined.decode("utf-8", errors="replace") == tokenizer.decode(
            ids, clean_up_tokenization_spaces=False
        )


def test_refusal_line_is_reachable_and_final():
    automaton = compile_grammar(GRAMMAR)
    assert automaton.fullmatch(REFUSAL)
    assert automaton.distance(automaton.walk(REFUSAL + " ")) == math.inf
