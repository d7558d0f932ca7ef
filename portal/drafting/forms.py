from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.core.text_input import NormalizedTextMixin
from portal.drafting.selectors import templates_offered
from portal.knowledge.selectors import collections_visible_to


class DraftForm(NormalizedTextMixin, forms.Form):
    """A new draft: the template, the facts of the case, and which collections to draw on."""

    template = forms.ModelChoiceField(queryset=None, label=_("Template"), empty_label=None)
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    facts = forms.CharField(
        label=_("Facts of the case"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=settings.DRAFT_FACTS_MAX_CHARS,
        help_text=_("Personal data (names, ID numbers, phone numbers...) is removed before use."),
    )
    collections = forms.MultipleChoiceField(
        label=_("Collections (none: all you may see)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Same as the facts")), ("en", "English"), ("zh", "中文")],
        required=False,
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = templates_offered()
        self.fields["collections"].choices = [
            (c.slug, c.name) for c in collections_visible_to(user).order_by("name")
        ]
