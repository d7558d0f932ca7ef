"""The citation format: its regular-expression twin, and the GBNF that llama.cpp accepts.

Whether llama.cpp really constrains a model with it is tested in test_llamacpp.py.
"""

from __future__ import annotations

import pytest

from llm_backend.grammars import REFUSAL, citation_grammar, conforms

LABELS = ["1", "2", "3"]


@pytest.mark.parametrize(
    "text",
    [
        "Adults may renew by mail [1].",
        "Adults may renew by mail. [1][3]",
        "Mail renewal takes 6-8 weeks [2]. Expedited service costs $60 [2][3].",
        "Take 2.5 mg with food [1].",
        "成年人可以邮寄续办护照。[1]加急需要2至3周[2]。",
        "First line [1]\nSecond line [2]",
        REFUSAL,
    ],
)
def test_conforming_answers(text):
    assert conforms(text, LABELS, max_sentences=3)


@pytest.mark.parametrize(
    "text",
    [
        "[2]",  # a marker alone
        "Adults may renew by mail.",  # no marker
        "Adults may renew by mail [4].",  # a passage that was not given
        "Adults may renew by mail. Children apply in person [3].",  # first sentence uncited
        "A [1]. B [1]. C [1]. D [1].",  # more sentences than allowed
        " Leading space [1].",
        "NOT_IN_SOURCES. [1]",  # a half-refusal dressed as a cited sentence
        "",
    ],
)
def test_nonconforming_answers(text):
    assert not conforms(text, LABELS, max_sentences=3)
    assert text != REFUSAL


def test_grammar_lists_only_the_given_labels_and_escapes_them():
    grammar = citation_grammar(["1", "12"], max_sentences=2)
    assert 'label ::= "1" | "12"' in grammar
    assert grammar.startswith(f'root ::= answer | "{REFUSAL}"')
    with pytest.raises(ValueError):
        citation_grammar([], max_sentences=2)
    with pytest.raises(ValueError):
        citation_grammar(["a]b"], max_sentences=2)
    with pytest.raises(ValueError):
        citation_grammar(["1"], max_sentences=0)


def test_an_english_answer_may_not_carry_chinese_words():
    """Qwen 0.5B dropped "我们" / "然而" into English sentences it copied (PubMedQA dev)."""
    for text in ("Results (PC).我们 evaluated the level [1].", "然而, early care helped [2]."):
        assert conforms(text, LABELS) and not conforms(text, LABELS, latin_only=True)
    assert conforms("Take 2.5 mg with food [1].", LABELS, latin_only=True)
    assert "\\u4e00-\\u9fff" in citation_grammar(LABELS, latin_only=True)


def test_latin_only_excludes_textkits_whole_chinese_class():
    """The ranges come from ``textkit.CJK_RANGES``: extension A, compatibility ideographs and
    extension B are Chinese to the grammar as they are to the tokenizer and the language rule."""
    grammar = citation_grammar(LABELS, latin_only=True)
    for escaped in ("\\u3400-\\u4dbf", "\\uf900-\\ufaff", "\\U00020000-\\U0002a6df"):
        assert escaped in grammar
    for char in ("\u3400", "\uf900", "\U00020000", "\u3001", "\uff0c"):
        text = f"Results {char} were reported [1]."
        assert conforms(text, LABELS) and not conforms(text, LABELS, latin_only=True)


def test_llama_cpp_parses_the_grammar(smollm2_backend):
    # An unparseable grammar raises BackendError instead of crashing the sampler.
    for max_sentences in (1, 3, 5):
        smollm2_backend._grammar(citation_grammar(LABELS, max_sentences), greedy=True).close()
        latin = citation_grammar(LABELS, max_sentences, latin_only=True)
        smollm2_backend._grammar(latin, greedy=True).close()
