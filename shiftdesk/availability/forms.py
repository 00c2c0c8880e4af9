"""Forms of the availability pages: the user's subject choice and the site's free/busy settings."""

from __future__ import annotations

from django import forms

from shiftdesk.availability.models import SHOW_AS_CHOICES


class ShowSubjectsForm(forms.Form):
    show_subjects = forms.BooleanField(label="Show meeting subjects to schedulers", required=False)


class AvailabilitySettingsForm(forms.Form):
    horizon_weeks = forms.IntegerField(label="Weeks ahead to read", min_value=1, max_value=52)
    refresh_minutes = forms.IntegerField(label="Refresh every (minutes)", min_value=5, max_value=24 * 60)
    unavailable_show_as = forms.MultipleChoiceField(
        label="Unavailable when Outlook shows", choices=SHOW_AS_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Assigning someone into these times needs “Assign anyway”.",
    )  # fmt: skip
    warning_show_as = forms.MultipleChoiceField(
        label="Warn when Outlook shows", choices=SHOW_AS_CHOICES, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        both = set(data.get("unavailable_show_as") or []) & set(data.get("warning_show_as") or [])
        if both:
            raise forms.ValidationError("A status cannot be both unavailable and a warning.")
        return data


class AutoAssignApplyForm(forms.Form):
    """The proposal the admin saw (its digest): Apply only applies that proposal."""

    digest = forms.CharField(max_length=64)
