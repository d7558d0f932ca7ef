"""Personal-data recognizers: checksums, formats, zh + en redaction, nothing raw left behind."""

import pytest

from portal.safety.pii import luhn_valid, pii_find, prc_id_valid, redact


def test_prc_id_checksum_accepts_valid_and_rejects_random_18_digits():
    assert prc_id_valid("11010519491231002X")
    assert prc_id_valid("110105194912310021") is False  # same digits, wrong check character
    assert prc_id_valid("440524188001010014")  # valid check digit
    assert prc_id_valid("123456789012345678") is False
    assert prc_id_valid("110105194913310021") is False  # month 13
    assert "<PRC_ID>" not in redact("订单号110105194912310021已发货")


def test_luhn():
    assert luhn_valid("4111 1111 1111 1111")
    assert luhn_valid("6222600260001072444")
    assert not luhn_valid("4111111111111112")
    assert redact("card 4111-1111-1111-1111 was charged") == "card <BANK_CARD> was charged"
    assert redact("reference 4111111111111112") == "reference 4111111111111112"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我叫王小明，手机13812345678", "我叫<NAME>，手机<PHONE>"),
        ("张先生的电话是010-88886666", "<NAME>先生的电话是<PHONE>"),
        ("患者张三今年45岁，病历号：A123456", "患者<NAME>今年45岁，病历号：<MRN>"),
        ("住在北京市朝阳区建国路88号3单元502室", "住在<ADDRESS>"),
        ("我妈叫李秀英，家住幸福小区5栋201室", "我妈叫<NAME>，家住<ADDRESS>"),
        ("Email me at jane.doe@example.org please", "Email me at <EMAIL> please"),
        ("SSN 123-45-6789 and MRN 7654321", "SSN <SSN> and MRN <MRN>"),
        # ITINs (9xx) and numbers the SSA never issues are still someone's taxpayer number.
        ("My ITIN is 912-78-4455, can I file?", "My ITIN is <SSN>, can I file?"),
        ("itin 912784455 for the credit", "itin <SSN> for the credit"),
        ("was it 666-12-3456 on the form", "was it <SSN> on the form"),
        # A card number in groups of four is someone's account even with a wrong check digit;
        # three groups of four are years.
        ("钱打到6217 8562 0341 9920 157这张卡了吗", "钱打到<BANK_CARD>这张卡了吗"),
        ("2022 2023 2024三年的社保", "2022 2023 2024三年的社保"),
        ("I live at 1600 Pennsylvania Avenue, Apt 4B.", "I live at <ADDRESS>."),
        ("call (415) 555-0123 tomorrow", "call <PHONE> tomorrow"),
    ],
)
def test_regex_redaction_zh_en(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name 张伟, can I renew my passport?", "name <NAME>, can I renew my passport?"),
        ("My name is 李娜 and I lost my ID card", "My name is <NAME> and I lost my ID card"),
        ("patient: 王小明 took ibuprofen", "patient: <NAME> took ibuprofen"),
        ("Mr 王想问 about pensions", "Mr <NAME>想问 about pensions"),
    ],
)
def test_a_chinese_name_after_an_english_cue_is_redacted(text, expected):
    # Mixed-language questions: the cue in English, the name in Han characters.
    assert redact(text) == expected


def test_english_cues_before_ordinary_chinese_words_are_not_names():
    # The cue must be followed by a surname: "name 什么" and "called 社保" stay as written.
    assert redact("what is the name 什么 in English") == "what is the name 什么 in English"
    assert redact("the office called 社保局 yesterday") == "the office called 社保局 yesterday"


def test_ordinary_words_after_weak_cues_are_not_names():
    assert redact("患者应该多喝水吗") == "患者应该多喝水吗"
    assert redact("本人高血压多年，医保能报销吗") == "本人高血压多年，医保能报销吗"


def test_public_hotlines_are_not_personal_data():
    text = "请拨打12356或400-161-9995，美国拨打988或1-800-273-8255"
    assert redact(text) == text


def test_english_person_names_via_presidio_but_not_eponyms():
    redacted = redact("My neighbour Mary Jones and Dr. Maria Garcia said my mother needs help.")
    assert "Mary Jones" not in redacted and "Maria Garcia" not in redacted
    assert redacted.count("<NAME>") == 2
    question = "Does Medicare cover Alzheimer's disease and Parkinson's disease treatment?"
    assert redact(question) == question
    assert [f.source for f in pii_find("Ask John Smith about it")] == ["presidio"]


def test_every_planted_value_is_gone():
    planted = [
        "11010519491231002X",
        "13812345678",
        "jane@example.com",
        "4111 1111 1111 1111",
        "123-45-6789",
        "王小明",
    ]
    text = (
        f"我叫{planted[5]}，身份证{planted[0]}，手机{planted[1]}，邮箱{planted[2]}，"
        f"卡号{planted[3]}，SSN {planted[4]}"
    )
    redacted = redact(text)
    assert not [value for value in planted if value in redacted]
