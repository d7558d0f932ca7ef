"""Seed the three default templates; admins edit them and add more in /admin/."""

from django.db import migrations

TEMPLATES = [
    {
        "slug": "reply-letter",
        "name_en": "Reply letter",
        "name_zh": "答复函",
        "description": "A reply to a member of the public who wrote in about their case.",
        "instructions_en": (
            "A polite, plain-language reply to a member of the public about their case. Explain "
            "the rules that apply to the case and what the person can do next."
        ),
        "instructions_zh": "用礼貌、通俗的语言答复来信群众，说明适用于其情况的规定以及下一步可以怎么做。",
        "opening_en": "Dear resident,",
        "opening_zh": "您好：",
        "closing_en": "Yours sincerely,",
        "closing_zh": "此复。",
        "max_sentences": 6,
    },
    {
        "slug": "public-notice",
        "name_en": "Public notice",
        "name_zh": "公告",
        "description": "A notice to the public about a rule, a deadline or a service change.",
        "instructions_en": (
            "A short, formal public notice: who it concerns, what the rule or change is, the "
            "dates and amounts that apply, and where to get help."
        ),
        "instructions_zh": "简短、正式的公告：涉及哪些人、规定或变化是什么、适用的日期和金额、到哪里咨询。",
        "opening_en": "",
        "opening_zh": "",
        "closing_en": "",
        "closing_zh": "特此公告。",
        "max_sentences": 6,
    },
    {
        "slug": "patient-leaflet",
        "name_en": "Patient leaflet",
        "name_zh": "患者须知",
        "description": "A leaflet for patients explaining a condition, a treatment or a procedure.",
        "instructions_en": (
            "A patient leaflet in plain language: what the condition or treatment is, what the "
            "evidence says, and when to contact a doctor. No personal medical advice."
        ),
        "instructions_zh": "通俗易懂的患者须知：病情或治疗是什么、证据表明什么、什么情况下应联系医生。不提供个人化医疗建议。",
        "opening_en": "",
        "opening_zh": "",
        "closing_en": "Ask your doctor or pharmacist about your own situation.",
        "closing_zh": "个人情况请咨询医生或药师。",
        "max_sentences": 8,
    },
]


def seed(apps, schema_editor):
    DraftTemplate = apps.get_model("drafting", "DraftTemplate")
    for fields in TEMPLATES:
        DraftTemplate.objects.update_or_create(slug=fields["slug"], defaults=fields)


def unseed(apps, schema_editor):
    DraftTemplate = apps.get_model("drafting", "DraftTemplate")
    DraftTemplate.objects.filter(slug__in=[t["slug"] for t in TEMPLATES], drafts=None).delete()


class Migration(migrations.Migration):
    dependencies = [("drafting", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
