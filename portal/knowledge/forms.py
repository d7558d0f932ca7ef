from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.core.text_input import NormalizedTextMixin
from portal.knowledge.models import Collection


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        if len(files) > settings.UPLOAD_MAX_FILES:
            raise forms.ValidationError(
                _("At most %(n)d files at once.") % {"n": settings.UPLOAD_MAX_FILES}
            )
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    collection = forms.ModelChoiceField(queryset=Collection.objects.all(), label=_("Collection"))
    files = MultipleFileField(label=_("Files"))
    effective_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("In effect from (empty: today)"),
    )
    expires_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Expires on")
    )


# --- Admin pages (issue 7 part 2): collections and new versions ---------------------------------
AUDIENCE_LABELS = {
    "public": _("Public"),
    "staff": _("Staff only"),
    "groups": _("Named groups only"),
}


class CollectionForm(NormalizedTextMixin, forms.ModelForm):
    audience = forms.ChoiceField(
        choices=list(AUDIENCE_LABELS.items()), label=_("Who may see it"), initial="public"
    )
    languages = forms.MultipleChoiceField(
        choices=[("en", "English"), ("zh", "中文")],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Languages"),
    )

    class Meta:
        model = Collection
        fields = ["name", "slug", "description", "audience", "languages"]
        labels = {
            "name": _("Name"),
            "slug": _("Short name (used in links and the API)"),
            "description": _("Description"),
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class VersionForm(forms.Form):
    """A new version of an existing document (supersedes the current one once it is in effect)."""

    file = forms.FileField(label=_("New file"))
    effective_from = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label=_("In effect from (empty: today)"),
    )
    expires_on = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Expires on")
    )


class DocumentTitleForm(NormalizedTextMixin, forms.Form):
    """An admin's title for a document (issue 23); later versions keep it."""

    title = forms.CharField(max_length=300, label=_("Title"))
