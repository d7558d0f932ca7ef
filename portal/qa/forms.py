"""The retrieval test page's form (the ask form is plain HTML: qa/templates/qa/_form.html)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from portal.accounts.selectors import VIEWER_ROLES
from portal.core.text_input import NormalizedTextMixin
from portal.knowledge.models import Audience, Collection
from portal.qa.engine.answer import MAX_QUESTION_CHARS

ROLE_LABELS = {
    "citizen": _("Anonymous citizen"),
    "staff": _("Staff"),
    "reviewer": _("Reviewer"),
    "admin": _("Admin"),
}


class RetrievalTestForm(NormalizedTextMixin, forms.Form):
    question = forms.CharField(
        max_length=MAX_QUESTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Question"),
    )
    role = forms.ChoiceField(
        choices=[(role, ROLE_LABELS[role]) for role in VIEWER_ROLES],
        initial="citizen",
        label=_("Ask as"),
    )
    # Collections shown to named groups only are reached by their members: pick one to test
    # what such a member gets.
    group = forms.ModelChoiceField(
        queryset=Group.objects.filter(collections__audience=Audience.GROUPS).distinct(),
        required=False,
        empty_label=_("no named group"),
        label=_("Member of"),
    )
    collections = forms.ModelMultipleChoiceField(
        queryset=Collection.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Only these collections (none: all the role may see)"),
    )

    def clean_question(self) -> str:
        question = self.cleaned_data["question"].strip()
        if not question:
            raise forms.ValidationError(_("Please type a question."))
        return question
