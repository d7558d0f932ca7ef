"""Every string people see is translated into Simplified Chinese, and the switch works.

The catalogue is portal/locale/zh_Hans/LC_MESSAGES/django.po; its compiled .mo is committed
(regenerate both with `make messages`). These tests fail when a template or module gains a
translatable string that the .po lacks or leaves empty, or when the .mo is stale.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "portal" / "locale" / "zh_Hans" / "LC_MESSAGES"
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
_TEMPLATE_CALL = re.compile(r"\b(n?gettext)\((u'(?:[^'\\]|\\.)*')(?:, (u'(?:[^'\\]|\\.)*'))?")


def _unquote(chunk: str) -> str:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', chunk)
    return ast.literal_eval('"' + "".join(parts) + '"')


def po_entries() -> list[dict]:
    """(msgid, msgid_plural, msgstrs, fuzzy) of each entry but the header."""
    entries = []
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if msgid is None or _unquote(msgid.group(1)) == "":
            continue
        plural = re.search(r'^msgid_plural ((?:".*"\n?)+)', block, re.M)
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, re.M)
        entries.append(
            {
                "msgid": _unquote(msgid.group(1)),
                "plural": _unquote(plural.group(1)) if plural else None,
                "msgstr": [_unquote(s) for s in strs],
                "fuzzy": "#, fuzzy" in block or ", fuzzy" in block,
                "obsolete": block.lstrip().startswith("#~"),
            }
        )
    return entries


def source_msgids() -> set[str]:
    """The msgids the portal's templates and Python modules mark for translation."""
    found: set[str] = set()
    for template in (ROOT / "portal").rglob("templates/**/*.html"):
        code = templatize(template.read_text(encoding="utf-8"), origin=str(template))
        for match in _TEMPLATE_CALL.finditer(code):
            found.add(ast.literal_eval(match.group(2)))
    for module in (ROOT / "portal").rglob("*.py"):
        if "migrations" in module.parts:
            continue
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            if name in GETTEXT_NAMES and isinstance(first, ast.Constant):
                found.add(first.value)
    return found


def test_the_chinese_catalogue_has_no_untranslated_or_fuzzy_entries():
    entries = po_entries()
    assert len(entries) > 200
    empty = [e["msgid"] for e in entries if not all(e["msgstr"])]
    fuzzy = [e["msgid"] for e in entries if e["fuzzy"]]
    assert empty == [], f"untranslated: {empty}"
    assert fuzzy == [], f"fuzzy (check and clear the flag): {fuzzy}"
    # Placeholders survive translation, or the page would crash or show the wrong number.
    for e in entries:
        wanted = sorted(re.findall(r"%\(\w+\)[sd]", e["msgid"]))
        for msgstr in e["msgstr"]:
            assert sorted(re.findall(r"%\(\w+\)[sd]", msgstr)) == wanted, e["msgid"]


def test_every_marked_string_in_the_portal_is_in_the_catalogue():
    catalogue = {e["msgid"] for e in po_entries()}
    marked = source_msgids()
    assert "Was this answer helpful?" in marked and len(marked) > 200  # the scan itself works
    missing = sorted(marked - catalogue)
    assert missing == [], f"run `make messages` and translate: {missing}"


def test_the_compiled_catalogue_matches_the_po():
    with open(LOCALE / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for e in po_entries():
        if e["plural"]:
            assert compiled.ngettext(e["msgid"], e["plural"], 1) == e["msgstr"][0]
        else:
            assert compiled.gettext(e["msgid"]) == e["msgstr"][0], "stale .mo: make messages"


@pytest.mark.django_db
def test_a_chinese_browser_gets_the_chinese_page(client):
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-Hans">' in body
    assert "咨询福利待遇、公共服务和健康指南" in body and "您的问题" in body
    assert "Ask about benefits" not in body


@pytest.mark.django_db
def test_the_language_switch_sticks(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302
    assert "咨询福利待遇" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Ask about benefits" in client.get("/").content.decode()
