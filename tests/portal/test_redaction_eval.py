"""`evaluate pii` (issue 23): the labelled redaction set, the evaluator's arithmetic, and the
redactor's mechanisms tuned on the set's dev split (portal/safety/pii.py).

The set itself is scored by the command, not here: these tests check that its labels are sound,
that the metrics count what they say, and that each mechanism does its one job.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command

from portal.evaluation.models import EvaluationRun
from portal.evaluation.redaction import DATA, redaction_evaluate, rows_load, rows_score
from portal.safety.pii import PiiFinding, pii_find, prc_id_valid, redact

PERSONAL = {"NAME", "PRC_ID", "SSN", "PHONE", "EMAIL", "ADDRESS", "MRN", "BANK_CARD", "ID"}
KEEP = {"PLACE", "ORG", "PROGRAM", "LAW", "TITLE", "DRUG", "EPONYM", "HOTLINE", "DATE", "AMOUNT"}


# --- the set ---------------------------------------------------------------------------------
def test_the_set_is_big_bilingual_and_its_spans_match_the_text():
    rows = rows_load("all")
    assert len(rows) >= 240
    languages = [r["language"] for r in rows]
    assert 0.4 <= languages.count("zh") / len(rows) <= 0.6
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        for span in row["spans"]:
            assert row["text"][span["start"] : span["end"]] == span["text"], row["id"]
            assert span["type"] in (PERSONAL if span["personal"] else KEEP), row["id"]


def test_the_split_is_the_hash_rule_not_a_choice():
    for row in rows_load("all"):
        digest = int(
            hashlib.sha1(row["text"].encode("utf-8"), usedforsecurity=False).hexdigest()[:8], 16
        )
        assert row["split"] == ("dev" if digest % 100 < 60 else "test"), row["id"]
    assert len(rows_load("dev")) + len(rows_load("test")) == len(rows_load("all"))


# --- the evaluator's arithmetic ----------------------------------------------------------------
ROWS = [
    {  # the name is fully redacted, the phone only half: recall 1 of 2
        "id": "zh-1",
        "language": "zh",
        "mixed": False,
        "text": "我叫王芳，手机13912345678",
        "spans": [
            {"start": 2, "end": 4, "text": "王芳", "type": "NAME", "personal": True},
            {"start": 7, "end": 18, "text": "13912345678", "type": "PHONE", "personal": True},
        ],
    },
    {  # a finding on the place: precision loses one, the place is lost
        "id": "en-1",
        "language": "en",
        "mixed": False,
        "text": "Is the DMV in Utica open?",
        "spans": [{"start": 14, "end": 19, "text": "Utica", "type": "PLACE", "personal": False}],
    },
]
FINDINGS = {
    "我叫王芳，手机13912345678": [PiiFinding("NAME", 2, 4), PiiFinding("PHONE", 7, 12)],
    "Is the DMV in Utica open?": [PiiFinding("NAME", 14, 19, source="presidio")],
}


def test_recall_precision_and_kept_count_spans_with_wilson_intervals():
    report = rows_score(ROWS, FINDINGS.__getitem__, with_misses=True)
    assert report["recall"]["all"] == {"n": 2, "k": 1, "rate": 0.5, "ci95": [0.0945, 0.9055]}
    assert report["recall"]["type:PHONE"]["k"] == 0 and report["recall"]["type:NAME"]["k"] == 1
    assert report["precision"]["all"]["n"] == 3 and report["precision"]["all"]["k"] == 2
    assert report["precision"]["en"] == {"n": 1, "k": 0, "rate": 0.0, "ci95": [0.0, 0.7935]}
    assert report["kept"]["type:PLACE"]["k"] == 0
    by_id = {m["id"]: m for m in report["misses"]}
    assert by_id["zh-1"]["missed"] == ["PHONE '13912345678'"]
    assert by_id["en-1"]["wrong"] == ["NAME/presidio 'Utica'"]
    assert by_id["en-1"]["lost"] == ["PLACE 'Utica'"]


def test_spaces_inside_a_span_need_no_redaction_and_any_kind_counts():
    row = {
        "id": "en-2",
        "language": "en",
        "mixed": False,
        "text": "SSN 345 19 2286 please",
        "spans": [{"start": 4, "end": 15, "text": "345 19 2286", "type": "SSN", "personal": True}],
    }
    parts = [PiiFinding("MRN", 4, 7), PiiFinding("PHONE", 8, 10), PiiFinding("MRN", 11, 15)]
    report = rows_score([row], lambda _: parts, with_misses=False)
    assert report["recall"]["all"]["k"] == 1 and report["precision"]["all"]["k"] == 3
    assert "misses" not in report


def test_misses_are_listed_for_the_dev_split_only(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({**r, "split": s}) for r, s in zip(ROWS, ("dev", "test"), strict=True)
        ),
        encoding="utf-8",
    )
    dev = redaction_evaluate(split="dev", path=path, known_terms=frozenset())
    test = redaction_evaluate(split="test", path=path, known_terms=frozenset({"utica"}))
    assert dev["n_questions"] == 1 and "misses" in dev["runs"]["without_known_terms"]
    assert set(test["runs"]) == {"without_known_terms", "with_known_terms"}
    assert all("misses" not in run for run in test["runs"].values())
    # The real redactor keeps Utica once it is a knowledge-base word.
    assert test["runs"]["with_known_terms"]["kept"]["all"]["rate"] == 1.0


def test_the_command_scores_a_few_dev_rows_and_records_the_run(db, tmp_path, capsys):
    out = tmp_path / "pii.json"
    call_command("evaluate", "pii", "--limit", "6", "--out", str(out))
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["split"] == "dev" and report["n_questions"] == 6
    assert report["n_known_terms"] == 0  # no documents in the test database
    assert "recall all" in capsys.readouterr().out
    run = EvaluationRun.objects.get()
    assert run.dataset == "safety:pii_redaction" and run.n_questions == 6
    assert DATA.exists()


def test_the_command_reads_a_named_set_or_a_file_and_rejects_an_unknown_name(db, tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({**ROWS[0], "split": "dev"}) + "\n", encoding="utf-8")
    out = tmp_path / "pii.json"
    call_command("evaluate", "pii", "--dataset", str(path), "--out", str(out))
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["dataset"] == "safety:mine" and report["n_questions"] == 1
    with pytest.raises(CommandError, match="no redaction set 'nope'"):
        call_command("evaluate", "pii", "--dataset", "nope")


# --- the mechanisms ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A relative named with no 叫 between; jieba cuts the given name off ("孙|国庆").
        ("我外公孙国庆住院了，医保怎么报？", "我外公<NAME>住院了，医保怎么报？"),
        ("我同事吕晓峰的公积金能转吗", "我同事<NAME>的公积金能转吗"),
        ("我妹妹叫梅子，上学要办什么？", "我妹妹叫<NAME>，上学要办什么？"),
        ("我是邵文斌，退休手续怎么办？", "我是<NAME>，退休手续怎么办？"),
        ("我姓刘，社保卡丢了", "我姓<NAME>，社保卡丢了"),
    ],
)
def test_chinese_names_after_relations_and_cues(text, redacted):
    assert redact(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "我妈高血压多年，门诊能报销吗？",  # a common word after the relation
        "老公单位不给交社保怎么办？",
        "我爸和妈妈都退休了，养老金怎么领？",  # a relation after the surname-like 和
        "学生和老师都能参加医保吗？",  # 和 read as a conjunction
        "我是江西人，在广州交社保。",
        "公司高管、股东与公司是否成立劳动关系？",  # words jieba does not tag as names
        "商标权的保护期是多久？",
    ],
)
def test_ordinary_chinese_words_are_not_names(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("请钱医生帮我看看化验单", "请<NAME>医生帮我看看化验单"),
        ("街道的潘主任说补贴下月发", "街道的<NAME>主任说补贴下月发"),
        # Inside a word the surname character is not one: the title stays whole.
        ("值班医生说要住院观察", "值班医生说要住院观察"),
        ("班主任让家长交医保", "班主任让家长交医保"),
        ("对方经理不肯签字", "对方经理不肯签字"),
    ],
)
def test_a_surname_before_a_job_title_is_a_name_only_at_a_word_start(text, redacted):
    assert redact(text) == redacted


def test_a_resident_id_in_groups_is_found_by_its_check_digit():
    grouped = "110105 19491231 002X"  # GB 11643 example number: valid check digit
    assert prc_id_valid(grouped.replace(" ", ""))
    assert redact(f"身份证{grouped}，怎么查社保") == "身份证<PRC_ID>，怎么查社保"
    wrong = "110105 19491231 0021"  # the same number with a wrong check digit
    assert "<PRC_ID>" not in redact(f"身份证{wrong}，怎么查社保")


def test_uncued_chinese_names_need_a_person_sign_and_no_place_sign():
    assert redact("孙丽华的养老金到账了吗？") == "<NAME>的养老金到账了吗？"
    assert redact("宋佳和宋雨是姐妹，都能领补贴吗？") == "<NAME>和<NAME>是姐妹，都能领补贴吗？"
    for text in ("我在石家庄看病，能报销吗？", "金牛区，社保中心在哪？"):
        assert redact(text) == text


def test_the_word_frequency_setting_decides_what_is_too_common_for_a_name(settings):
    settings.SAFETY_PII_TAGGER = False  # the rule alone (the learned tagger reads names too)
    # jieba's dictionary lists 王建国 with a count of 12.
    assert redact("我爸王建国退休了") == "我爸<NAME>退休了"
    settings.SAFETY_PII_ZH_NAME_WORD_FREQ = 10
    assert redact("我爸王建国退休了") == "我爸王建国退休了"


def test_english_names_in_chinese_text_stop_at_the_chinese():
    # spaCy would read "我叫John" as one token and run the name into the Chinese after it.
    assert (
        redact("我叫John Miller，在上海工作，社保怎么交？")
        == "我叫<NAME>，在上海工作，社保怎么交？"
    )


def test_english_relations_with_step_and_in_law_and_han_names_after_them():
    # The cue alone finds them, with or without spaCy.
    for text, name in [
        ("My stepdaughter Emma Ruiz needs CHIP.", "Emma Ruiz"),
        ("My father-in-law Arthur Quinn uses SNAP.", "Arthur Quinn"),
        ("My grandmother 王秀兰 lives alone.", "王秀兰"),
    ]:
        found = pii_find(text, use_presidio=False)
        assert [text[f.start : f.end] for f in found] == [name], text


def test_names_of_occasions_and_institutions_are_not_people():
    question = "Are DMV offices closed on Martin Luther King Jr. Day?"
    assert redact(question) == question
    assert [f.kind for f in pii_find("Ask Martin Luther King about it")] == ["NAME"]


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("我家地址是17 Ocean Parkway，能申请吗？", "我家地址是<ADDRESS>，能申请吗？"),
        ("I live at 9 Grand Concourse, Apt 2B.", "I live at <ADDRESS>."),
        ("护照号码G34567812丢了怎么办", "护照号码<ID_NUMBER>丢了怎么办"),
        ("My Medicare number is 2AB3-CD4-EF56.", "My Medicare number is <ID_NUMBER>."),
        ("My passport number is missing from the form.", None),
    ],
)
def test_addresses_after_chinese_and_document_numbers_after_their_cue(text, redacted):
    assert redact(text) == (redacted or text)
