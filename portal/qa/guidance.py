"""What a reader is told when there is no answer to give, or an answer needs a caution.

A refusal is only honest if it helps: it says what the sources here do cover (the closest
documents found) and where to ask instead. Where to ask is the kind of agency the question is
about (portal/qa/agencies.py: 人社 / 12333 for a 社保 question, the Social Security
Administration for a question about US work credits, in whichever language it was asked); when
no agency is close enough, the generic contact lines, which are settings because each
deployment sends people to its own service desk.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from portal.knowledge.retrieval import Passage
from portal.qa.agencies import agency_advice

_NO_SUPPORT = {
    "en": "The official sources available here do not answer this question, so no answer was "
    "written.",
    "zh": "本服务收录的官方资料无法回答这个问题，因此没有生成答案。",
}
_COVERS = {"en": "The closest sources found cover: {titles}.", "zh": "最接近的资料涉及：{titles}。"}
_REFUSED = {
    "unsafe": {
        "en": "This service cannot help with that request.",
        "zh": "本服务无法协助处理该请求。",
    },
    "injection": {
        "en": "This request asks the service to change how it works, so it was not answered. "
        "Please ask your question directly.",
        "zh": "该请求试图改变本服务的工作方式，因此未予回答。请直接提出您的问题。",
    },
    "sensitive": {
        "en": "This request touches a topic this service does not answer.",
        "zh": "该请求涉及本服务不予回答的话题。",
    },
    "out_of_scope": {
        "en": "This service answers questions about government policy, benefits and health "
        "information only.",
        "zh": "本服务仅回答政府政策、福利待遇和健康信息方面的问题。",
    },
}
_CAUTION = {
    "en": "This answer was written by an AI from official sources. Check the cited passages, and "
    "ask a professional before acting on anything that concerns your health or money.",
    "zh": "本答案由人工智能根据官方资料生成。请核对所引用的资料；"
    "涉及健康或钱款的事项，请先咨询专业人员。",
}


def _lang(language: str) -> str:
    return language if language in ("en", "zh") else "en"


def contact(language: str, *, question: str = "", passages: Sequence[Passage] = ()) -> str:
    """Where to ask instead: the agency the question is about, else the generic line."""
    lang = _lang(language)
    if question:
        advice = agency_advice(question=question, language=lang, passages=passages)
        if advice:
            return advice
    return settings.ANSWER_CONTACT_ZH if lang == "zh" else settings.ANSWER_CONTACT_EN


CLOSEST_SOURCES = 3


def closest_sources(passages: Sequence[Passage]) -> list[dict]:
    """The documents a refusal names, closest first: [{"document_id", "title"}], one per title
    (two versions of a document read as one), at most ``CLOSEST_SOURCES``. Stored with the
    answer, so its page can link each title it names to the document's source page."""
    named: dict[str, dict] = {}
    for p in passages:
        named.setdefault(
            p.document_title, {"document_id": p.document_id, "title": p.document_title}
        )
    return list(named.values())[:CLOSEST_SOURCES]


def no_support(passages: list[Passage], *, language: str, question: str = "") -> str:
    lang = _lang(language)
    titles = [source["title"] for source in closest_sources(passages)]
    parts = [_NO_SUPPORT[lang]]
    if titles:
        separator = "、" if lang == "zh" else "; "
        parts.append(_COVERS[lang].format(titles=separator.join(titles)))
    parts.append(contact(lang, question=question, passages=passages))
    return " ".join(parts)


# Refusals whose question is a fair one to send to an agency; an unsafe or injected request is
# not helped by a hotline matched to its words.
_AGENCY_REASONS = frozenset({"out_of_scope"})


def refused(reason: str | None, *, language: str, question: str = "") -> str:
    lang = _lang(language)
    text = _REFUSED.get(reason or "unsafe", _REFUSED["unsafe"])[lang]
    asked = question if reason in _AGENCY_REASONS else ""
    return f"{text} {contact(lang, question=asked)}"


def caution(*, language: str) -> str:
    return _CAUTION[_lang(language)]


_MODEL_UNAVAILABLE = {
    "en": "The answer-writing model is unavailable right now, so this answer quotes the official "
    "passages directly.",
    "zh": "撰写答案的模型暂时不可用，以下答案直接引用官方原文。",
}


def model_unavailable_notice(language: str) -> str:
    """Said when the inference server did not answer and the passages are quoted instead."""
    return _MODEL_UNAVAILABLE.get(language, _MODEL_UNAVAILABLE["en"])
