"""Forms of the Google OAuth 2 box (admin) and the Google Authorization box (each user). The Client Secret is
write-only: never rendered back. Malformed input is refused here, before any call to Google."""

from __future__ import annotations

import copy
import re

from django import forms

from shiftdesk.google.models import GoogleOAuthSettings

ENABLED, DISABLED = "enabled", "disabled"
# What Google Cloud shows as a Web application's Client ID: digits, a dash, letters/digits, the fixed suffix.
CLIENT_ID_RE = re.compile(r"^[0-9]+-[0-9a-z]+\.apps\.googleusercontent\.com$")


class GoogleOAuthSettingsForm(forms.Form):
    client_id = forms.CharField(
        label="Client ID",
        max_length=255,
        help_text="The Client ID of the OAuth client (type Web application) from Google Cloud's Credentials page, "
        "ending in .apps.googleusercontent.com.",
    )
    client_secret = forms.CharField(
        label="Client Secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The Client Secret of the same OAuth client. Leave empty to keep the stored secret.",
    )
    enabled = forms.ChoiceField(
        label="Enable Calendar Sync with Google OAuth 2",
        choices=[(ENABLED, "Enabled"), (DISABLED, "Disabled")],
        initial=DISABLED,
    )

    def __init__(self, *args, stored: GoogleOAuthSettings, **kwargs) -> None:
        self.stored = stored
        kwargs.setdefault(
            "initial", {"client_id": stored.client_id, "enabled": ENABLED if stored.enabled else DISABLED}
        )
        # Its own ids: the Azure AD OAuth 2 box on the same page has client_secret and enabled fields too.
        kwargs.setdefault("auto_id", "id_google_%s")
        super().__init__(*args, **kwargs)

    def clean_client_id(self) -> str:
        value = self.cleaned_data["client_id"].strip().lower()
        if not CLIENT_ID_RE.match(value):
            raise forms.ValidationError(
                "Enter the Client ID exactly as Google Cloud shows it, for example "
                "123456789012-abc123def456.apps.googleusercontent.com."
            )
        return value

    def clean_client_secret(self) -> str:
        value = self.cleaned_data["client_secret"]
        if any(ch.isspace() for ch in value):
            raise forms.ValidationError("The Client Secret contains spaces; copy it again from Google Cloud.")
        if value and CLIENT_ID_RE.match(value.lower()):
            raise forms.ValidationError("This is the Client ID. Enter the Client Secret instead.")
        return value

    def clean(self) -> dict:
        data = super().clean()
        if (
            not data.get("client_secret")
            and not self.stored.has_secret
            and "client_secret" not in self.errors
        ):
            self.add_error("client_secret", "Enter the Client Secret.")
        return data

    def candidate(self) -> GoogleOAuthSettings:
        """An unsaved copy of the stored settings with this form's values applied."""
        new = copy.copy(self.stored)
        new.client_id = self.cleaned_data["client_id"]
        new.enabled = self.cleaned_data["enabled"] == ENABLED
        if self.cleaned_data["client_secret"]:
            new.client_secret = self.cleaned_data["client_secret"]
            new.secret_last4 = self.cleaned_data["client_secret"][-4:]
        return new

    def needs_check(self, new: GoogleOAuthSettings) -> bool:
        """Checked when enabling or when the client changed; switching to Disabled alone never calls Google
        (an admin must be able to turn sync off during an outage)."""
        changed = bool(self.cleaned_data["client_secret"]) or new.client_id != self.stored.client_id
        return new.enabled or changed


class RemoveAuthorizationForm(forms.Form):
    delete_future_events = forms.BooleanField(
        label="Also delete my future ShiftDesk events from my Google calendar", required=False
    )
