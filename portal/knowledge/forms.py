from django import forms
from django.conf import settings

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
            raise forms.ValidationError(f"At most {settings.UPLOAD_MAX_FILES} files at once.")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UploadForm(forms.Form):
    collection = forms.ModelChoiceField(queryset=Collection.objects.all())
    files = MultipleFileField()
    effective_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
