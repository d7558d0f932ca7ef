"""One text layer: no second CJK range or language detector outside ``textkit``.

Before textkit, the tokenizer, the sentence splitter, the verifier, the safety layer, ingestion
and the grammar each had their own range of "Chinese characters" (U+4E00-U+9FFF here,
U+4E00-U+9FA5 there, extension A in some) and three language detectors disagreed on mixed text.
This test reads the source tree so that a copy cannot creep back: a module needing a character
class builds it from ``textkit.CJK_RANGES`` / ``textkit.CJK_CHARS``, and a module needing the
language calls ``textkit.language_of``.

Allowed:

- ``textkit/`` itself, where the one definition lives;
- ``portal/evaluation/``, which judges answers independently of the code it judges and
  deliberately does not use textkit (a bug in textkit must not also hide in the scores);
- a function with a detector's name that only returns a call of a textkit function (a thin
  wrapper kept for the modules that call it, such as ``portal.safety.normalize.language_detect``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("ingestion", "llm_backend", "portal")
# Independent of textkit on purpose (see the module docstring).
ALLOWED = ("portal/evaluation/",)

# A range of Chinese characters written out: "\u4e00-\u9fff", "\u4E00-\u9FA5", "一-龥",
# "\U00020000-...", or code points compared by number (0x4e00).
_RANGE_LITERAL = re.compile(
    r"\\u(?:4e00|9fff|9fa5|9fbf|3400|4dbf|f900|faff)"
    r"|\\U0002[0-9a-f]{4}"
    r"|[一㐀豈]-[龥鿿鿋䶵䶿﫿]"
    r"|0x(?:4e00|9fff|9fa5|3400|4dbf|20000)\b",
    re.IGNORECASE,
)
# Names of language detectors and Chinese-character predicates.
_DETECTOR_NAMES = frozenset({
    "detect_language", "language_detect", "language_of", "detect_lang", "lang_detect",
    "is_cjk", "_is_cjk", "is_chinese", "_is_chinese", "has_cjk", "has_chinese",
    "is_cjk_char", "cjk_count", "is_han", "_is_han",
})  # fmt: skip


def _sources() -> list[tuple[str, Path]]:
    found = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or rel.startswith(ALLOWED):
                continue
            found.append((rel, path))
    return found


def _textkit_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "textkit":
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(
                alias.asname or alias.name
                for alias in node.names
                if alias.name.split(".")[0] == "textkit"
            )
    return names


def _delegates_to_textkit(func: ast.FunctionDef, textkit_names: set[str]) -> bool:
    body = list(func.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    call = body[0].value
    if not isinstance(call, ast.Call):
        return False
    target = call.func
    while isinstance(target, ast.Attribute):
        target = target.value
    return isinstance(target, ast.Name) and target.id in textkit_names


def test_no_chinese_character_range_outside_textkit():
    offending = [
        f"{rel}:{number}: {line.strip()}"
        for rel, path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _RANGE_LITERAL.search(line)
    ]
    assert not offending, (
        "Chinese character ranges written outside textkit; build them from textkit.CJK_RANGES "
        "or textkit.CJK_CHARS instead:\n" + "\n".join(offending)
    )


def test_no_language_detector_outside_textkit():
    offending = []
    for rel, path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        textkit_names = _textkit_names(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and node.name in _DETECTOR_NAMES
                and not _delegates_to_textkit(node, textkit_names)
            ):
                offending.append(f"{rel}:{node.lineno}: def {node.name}")
    assert not offending, (
        "language detectors / Chinese-character predicates defined outside textkit; call "
        "textkit.language_of / textkit.is_cjk_char (a wrapper may only return a textkit "
        "call):\n" + "\n".join(offending)
    )


def test_the_scan_sees_what_it_guards():
    """The patterns catch the forms that existed before textkit, and the scan reads the tree."""
    for old in (
        r'_ZH = r"\u4e00-\u9fa5"',
        r're.sub(r"[^\u4e00-\u9fff]", "", text)',
        r'"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"',
        '_CJK = re.compile("[一-龥]")',
        "if 0x4E00 <= ord(ch) <= 0x9FFF:",
    ):
        assert _RANGE_LITERAL.search(old), old
    for fine in (r"[ \t\u3000]", r"\u3000-\u303f\uff00-\uffef", "[一二三四五六七八九十]"):
        assert not _RANGE_LITERAL.search(fine), fine
    tree = ast.parse(
        "from textkit import language_of\n"
        "def language_detect(text):\n    '''doc'''\n    return language_of(text)\n"
        "def detect_language(text):\n    return 'zh' if han(text) else 'en'\n"
    )
    wrapper, rule = (n for n in tree.body if isinstance(n, ast.FunctionDef))
    assert _delegates_to_textkit(wrapper, _textkit_names(tree))
    assert not _delegates_to_textkit(rule, _textkit_names(tree))
    scanned = {rel for rel, _ in _sources()}
    assert "portal/safety/pii.py" in scanned and "llm_backend/grammars.py" in scanned
    assert not any(rel.startswith("portal/evaluation/") for rel in scanned)
