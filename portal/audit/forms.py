from django import forms
from django.utils.translation import gettext_lazy as _

from portal.audit.models import Outcome
from portal.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    """Query-string filters of the search page and the export view."""

    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Since")
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Until")
    )
    action = forms.CharField(
        required=False, max_length=60, help_text=_("prefix, e.g. knowledge."), label=_("Action")
    )
    actor = forms.CharField(required=False, max_length=150, label=_("Actor (username)"))
    role = forms.CharField(required=False, max_length=20, label=_("Role"))
    outcome = forms.ChoiceField(
        required=False, choices=[("", _("any")), *Outcome.choices], label=_("Outcome")
    )
    object_type = forms.CharField(required=False, max_length=60, label=_("Object type"))
    object_id = forms.CharField(required=False, max_length=60, label=_("Object id"))

    def filters(self) -> AuditFilters:
        """Call after is_valid()."""
        data = self.cleaned_data
        return AuditFilters(
            since=data["since"],
            until=data["until"],
            action=data["action"].strip(),
            actor=data["actor"].strip(),
            role=data["role"].strip(),
            outcome=data["outcome"],
            object_type=data["object_type"].strip(),
            object_id=data["object_id"].strip(),
        )
