from __future__ import annotations

from ingestion.parsers import parse_bytes
from ingestion.sniff import MARKDOWN, TEXT

ZH_MD = """# 城乡居民医疗保险

## 参保缴费

城乡居民基本医疗保险按年度缴费，每年9月至12月为集中缴费期。
新生儿出生后三个月内参保的，自出生之日起享受待遇。

## 待遇标准

- 住院费用报销比例为**70%**
- 详见[医保局网站](https://example.gov.cn/ybj)

```
代码块 保留
```
"""

EN_MD = """Eligibility Rules
=================

Read the *full* text of `rule 7` and the [appendix][a] before applying\\*.

Appeals
-------

1. File the form
2. Wait for a letter
   that arrives by post

| Group | Rate |
|-------|------|
| Child | 0%   |

[a]: https://example.org/appendix
"""


def test_chinese_markdown_headings_and_inline_stripping():
    doc = parse_bytes(ZH_MD.encode("utf-8"), filename="医保.md")

    assert doc.media_type == MARKDOWN
    assert doc.title == "城乡居民医疗保险"
    assert doc.language == "zh"
    blocks = [(b.kind, b.text, b.heading_path) for b in doc.blocks]
    assert blocks[2] == (
        "paragraph",
        # The line break between two Chinese sentences is dropped, not turned into a space.
        "城乡居民基本医疗保险按年度缴费，每年9月至12月为集中缴费期。新生儿出生后三个月内参保的，"
        "自出生之日起享受待遇。",
        ("城乡居民医疗保险", "参保缴费"),
    )
    assert blocks[4] == (
        "list",
        "- 住院费用报销比例为70%\n- 详见医保局网站",
        ("城乡居民医疗保险", "待遇标准"),
    )
    assert blocks[5] == ("paragraph", "代码块 保留", ("城乡居民医疗保险", "待遇标准"))
    assert "https://" not in doc.text


def test_setext_headings_lists_tables_and_links():
    doc = parse_bytes(EN_MD.encode(), filename="rules.markdown")

    assert doc.media_type == MARKDOWN
    assert doc.title == "Eligibility Rules"
    blocks = [(b.kind, b.text, b.heading_path) for b in doc.blocks]
    assert blocks == [
        ("heading", "Eligibility Rules", ("Eligibility Rules",)),
        (
            "paragraph",
            "Read the full text of rule 7 and the appendix before applying*.",
            ("Eligibility Rules",),
        ),
        ("heading", "Appeals", ("Eligibility Rules", "Appeals")),
        (
            "list",
            "1. File the form\n2. Wait for a letter that arrives by post",
            ("Eligibility Rules", "Appeals"),
        ),
        ("table", "Group | Rate\nChild | 0%", ("Eligibility Rules", "Appeals")),
    ]


def test_markdown_without_md_name_but_clear_structure():
    data = b"# Title\n\nSome text.\n\n## Part\n\n- a\n- b\n"
    assert parse_bytes(data, filename="notes.txt").media_type == MARKDOWN


def test_utf8_and_gb18030_text_give_the_same_document():
    text = (
        "第一章 总则\n\n第一条 为了规范医疗保障基金使用，制定本条例。\n第二条 本条例适用于全国。\n"
    )
    utf8 = parse_bytes(text.encode("utf-8"), filename="条例.txt")
    gb = parse_bytes(text.encode("gb18030"), filename="条例.txt")
    bom = parse_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"), filename="条例.txt")

    assert utf8 == gb == bom
    assert utf8.media_type == TEXT
    assert utf8.title is None
    assert utf8.language == "zh"
    assert [(b.kind, b.text, b.heading_path) for b in utf8.blocks] == [
        ("heading", "第一章 总则", ("第一章 总则",)),
        ("paragraph", "第一条 为了规范医疗保障基金使用，制定本条例。", ("第一章 总则",)),
        ("paragraph", "第二条 本条例适用于全国。", ("第一章 总则",)),
    ]


def test_plain_text_rejoins_wrapped_english_and_keeps_lists():
    text = (
        "Patients should take the tablets with\nwater after meals, twice a day.\n\n"
        "- Do not drive\n- Avoid alcohol\n"
    )
    doc = parse_bytes(text.encode(), filename="leaflet.txt")
    assert doc.media_type == TEXT
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "Patients should take the tablets with water after meals, twice a day."),
        ("list", "- Do not drive\n- Avoid alcohol"),
    ]


def test_chinese_text_with_indented_paragraphs_and_no_blank_lines():
    text = "\u3000\u3000第一段内容在这里，\n继续第一段。\n\u3000\u3000第二段内容。\n"
    doc = parse_bytes(text.encode("utf-8"))
    assert [b.text for b in doc.blocks] == ["第一段内容在这里，继续第一段。", "第二段内容。"]


def test_inline_code_is_literal_and_escapes_survive():
    from ingestion.parsers.markdown import strip_inline

    text = "Run `rm *.tmp` or set `a_b_c`; **bold *inner* text**, \\*not emphasis\\*."
    assert strip_inline(text) == "Run rm *.tmp or set a_b_c; bold inner text, *not emphasis*."


def test_unclosed_markup_does_not_take_quadratic_time():
    import time

    hostile = ("[link " + "**bold " + "<a " + "_x ") * 50_000
    started = time.perf_counter()
    doc = parse_bytes(hostile.encode(), filename="hostile.md")
    assert time.perf_counter() - started < 5
    assert doc.blocks
