from django import forms

from portal.audit.models import Outcome
from portal.audit.selectors import AuditFilters


class AuditFilterForm(forms.Form):
    """Query-string filters of the search page and the export view."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.CharField(required=False, max_length=60, help_text="prefix, e.g. knowledge.")
    actor = forms.CharField(required=False, max_length=150, label="Actor (username)")
    role = forms.CharField(required=False, max_length=20)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), *Outcome.choices])
    object_type = forms.CharField(required=False, max_length=60)
    object_id = forms.CharField(required=False, max_length=60)

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
