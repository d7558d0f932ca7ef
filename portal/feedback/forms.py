from django import forms
from django.utils.translation import gettext_lazy as _

from portal.core.text_input import NormalizedTextMixin
from portal.feedback.models import Reason
from portal.feedback.services import COMMENT_MAX_CHARS


class FeedbackForm(NormalizedTextMixin, forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label=_("Was this answer helpful?"),
    )
    reason = forms.ChoiceField(
        choices=[("", _("Choose a reason (optional)")), *Reason.choices],
        required=False,
        label=_("What was wrong? (optional)"),
    )
    comment = forms.CharField(
        max_length=COMMENT_MAX_CHARS,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Anything else? Please do not include personal details. (optional)"),
    )


class FeedbackFilterForm(forms.Form):
    """The feedback page's filters (GET): all optional."""

    helpful = forms.ChoiceField(
        choices=[("", _("all")), ("yes", _("Helpful")), ("no", _("Not helpful"))],
        required=False,
        label=_("Verdict"),
    )
    reason = forms.ChoiceField(
        choices=[("", _("all")), *Reason.choices], required=False, label=_("Reason")
    )
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("From")
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Until")
    )

    def filters(self) -> dict:
        """The selector's arguments (nothing narrowed when the form does not validate)."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        helpful = {"yes": True, "no": False}.get(data["helpful"])
        return {
            "helpful": helpful,
            "reason": data["reason"],
            "since": data["since"],
            "until": data["until"],
        }
