"""Forms of the Password Authentication box and of its Admin > Integrations switch."""

from __future__ import annotations

from django import forms

from shiftdesk.exchange.network import entry_error, parse_entries


class PasswordAuthenticationForm(forms.Form):
    server = forms.CharField(
        label="Server Address", max_length=500, help_text="For example mail.example.org, or the full EWS URL."
    )
    username = forms.CharField(
        label="Username", max_length=320, help_text="As you sign in to Outlook on the web."
    )
    # Write-only: never rendered back (render_value=False), never logged.
    password = forms.CharField(
        label="Password", max_length=1024, strip=False, widget=forms.PasswordInput(render_value=False)
    )
    email = forms.EmailField(label="Email Address", max_length=320)


class RemoveForm(forms.Form):
    delete_future_events = forms.BooleanField(
        label="Also delete my future ShiftDesk events from my Exchange calendar", required=False
    )


class ExchangeSettingsForm(forms.Form):
    enabled = forms.TypedChoiceField(
        label="Enable Calendar Sync with Password Authentication",
        choices=[("1", "Enabled"), ("0", "Disabled")],
        coerce=lambda v: v == "1",
        error_messages={
            "invalid_choice": "Choose Enabled or Disabled.",
            "required": "Choose Enabled or Disabled.",
        },
    )
    allowed_hosts = forms.CharField(
        label="Allowed Exchange servers",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: a server name (mail.example.org), every server of a domain (*.example.org), or "
        "an address or network (10.0.0.5, 10.20.0.0/16). Names limit which servers users may enter (none: any). "
        "Loopback, private and link-local addresses are reached only when an address or network here contains "
        "them.",
    )

    def clean_allowed_hosts(self) -> str:
        entries = parse_entries(self.cleaned_data["allowed_hosts"])
        problems = [entry_error(entry) for entry in entries if entry_error(entry)]
        if problems:
            raise forms.ValidationError(" ".join(problems))
        return "\n".join(entries)
