"""What the citizen is told instead of an answer, in their language.

Hotline numbers are settings (SAFETY_CRISIS_LINES_ZH/EN, SAFETY_EMERGENCY_NUMBER_ZH/EN) so a
deployment can put local services first. Defaults are public services checked in 2026:
988 (US Suicide & Crisis Lifeline), 12356 (China's national psychological assistance line, run by
the National Health Commission since 2025), 400-161-9995 (希望24 24-hour crisis line), 911 / 120.
"""

from __future__ import annotations

from django.conf import settings


def crisis_guidance(language: str) -> str:
    if language == "zh":
        return (
            "听到你这样说，我们很担心你。你并不孤单，现在就可以找人谈谈："
            f"{settings.SAFETY_CRISIS_LINES_ZH}。如果你有立即的危险，请拨打 "
            f"{settings.SAFETY_EMERGENCY_NUMBER_ZH} 或前往最近的医院急诊。"
        )
    return (
        "We are concerned about what you wrote. You are not alone and you can talk to someone "
        f"right now: {settings.SAFETY_CRISIS_LINES_EN}. If you are in immediate danger, call "
        f"{settings.SAFETY_EMERGENCY_NUMBER_EN} or go to the nearest emergency department."
    )


def emergency_notice(language: str) -> str:
    if language == "zh":
        return (
            "如果你或身边的人现在出现胸痛、呼吸困难、中风征兆、严重出血或中毒等紧急情况，"
            f"请立即拨打 "
            f"{settings.SAFETY_EMERGENCY_NUMBER_ZH}，不要等待在线回答。"
        )
    return (
        "If you or someone near you has chest pain, trouble breathing, signs of a stroke, heavy "
        f"bleeding or poisoning right now, call {settings.SAFETY_EMERGENCY_NUMBER_EN} "
        "immediately; do not wait for an online answer."
    )


_REFUSAL = {
    "unsafe": (
        "这个请求可能会对你或他人造成伤害，我们无法提供帮助。如果你遇到危险或需要支持，请联系当地公安机关（110）或医疗机构。",
        "We can't help with this request because it could cause harm to you or others. If "
        "someone is in danger, contact local emergency services.",
    ),
    "injection": (
        "这个请求试图改变本服务的工作方式，我们无法照做。请直接提出你关于政策或健康的问题。",
        "This request tries to change how the service works, so we can't follow it. Please ask "
        "your policy or health question directly.",
    ),
    "sensitive": (
        "这个问题包含本服务不能处理的敏感内容。如有需要，请咨询相关主管部门。",
        "This question contains content this service cannot handle. Please contact the "
        "responsible authority directly.",
    ),
    "out_of_scope": (
        "本服务只回答政府政策、公共服务和医疗健康方面的问题。其他问题请使用其他渠道。",
        "This service answers questions about government policy, public benefits and health. "
        "Please use another service for other requests.",
    ),
}


def refusal_guidance(reason: str, language: str, *, category: str = "") -> str:
    if category.startswith("self_harm"):
        return crisis_guidance(language)
    zh, en = _REFUSAL.get(reason, _REFUSAL["unsafe"])
    return zh if language == "zh" else en


def caution_text(language: str) -> str:
    if language == "zh":
        return "本回答由人工智能生成，仅供参考，不能替代医生或主管部门的个别意见。"
    return (
        "AI-generated and for general information only; it does not replace advice from your "
        "clinician or the responsible office."
    )
