from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.core.text_input import NormalizedModelForm, NormalizedTextMixin
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


EXAMPLE_QUESTIONS_MAX = 20
EXAMPLE_QUESTION_MAX_CHARS = 300


class ExampleQuestionsField(forms.CharField):
    """A collection's example questions as a text box, one question per line: stored as a list
    of strings (blank lines and repeats dropped), shown again one per line. A raw JSON box
    would make an admin type brackets, quotes and escapes around every Chinese question."""

    widget = forms.Textarea(attrs={"rows": 5})

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Example questions"))
        kwargs.setdefault(
            "help_text",
            _(
                "One question per line, in any of the collection's languages. The home page "
                "shows a few, in the reader's language first."
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list | tuple):
            lines = [str(v) for v in value]
        else:
            lines = (super().to_python(value) or "").splitlines()
        return list(dict.fromkeys(" ".join(line.split()) for line in lines if line.strip()))

    def validate(self, value: list[str]) -> None:
        super().validate(value)
        if len(value) > EXAMPLE_QUESTIONS_MAX:
            raise forms.ValidationError(
                _("At most %(n)d example questions.") % {"n": EXAMPLE_QUESTIONS_MAX}
            )
        if any(len(q) > EXAMPLE_QUESTION_MAX_CHARS for q in value):
            raise forms.ValidationError(
                _("An example question has at most %(n)d characters.")
                % {"n": EXAMPLE_QUESTION_MAX_CHARS}
            )

    def has_changed(self, initial, data) -> bool:
        return list(initial or []) != self.to_python(data)


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
    example_questions = ExampleQuestionsField()

    class Meta:
        model = Collection
        fields = ["name", "slug", "description", "audience", "languages", "example_questions"]
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


class CollectionAdminForm(NormalizedModelForm):
    """The site administration's collection form: example questions one per line."""

    example_questions = ExampleQuestionsField()

    class Meta:
        model = Collection
        fields = "__all__"
