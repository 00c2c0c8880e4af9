"""Forms of the Calendar Sync tab and Integration Status page; labels are the LibStaffer FAQ's words."""

from __future__ import annotations

from django import forms

from shiftdesk.calendarsync.models import ExportJob


class ExportForm(forms.Form):
    """The Outlook/Exchange - Export box: Export Option, then Run the Export. No user field: an export is
    always of the requesting user's own shifts."""

    option = forms.ChoiceField(
        label="Export Option",
        choices=ExportJob.Option.choices,
        initial=ExportJob.Option.NOT_EXPORTED,
    )


class IntegrationStatusFilterForm(forms.Form):
    problems = forms.BooleanField(label="Only accounts with problems", required=False)
