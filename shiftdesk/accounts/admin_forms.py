"""Forms of Admin > Accounts: parse what the admin typed into the arguments of accounts/scheduling actions."""

from __future__ import annotations

from django import forms

from shiftdesk.accounts.models import User
from shiftdesk.lib.bounds import BoundedModelMultipleChoiceField
from shiftdesk.scheduling.models import Schedule


class UserForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    role = forms.ChoiceField(
        label="Role",
        choices=User.Role.choices,
        initial=User.Role.REGULAR,
        help_text="Admins manage everything. Regular users see their own shifts and can be made admin of a schedule.",
    )
    administered_schedules = BoundedModelMultipleChoiceField(
        Schedule.objects.all(),
        label="Schedule admin of",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="A Regular user who administers a schedule may add, edit and delete its shifts and assign its staff.",
    )
    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Optional. Without one, the user is emailed a link to set it, and can also use “Forgot your password?” on the login page.",
    )
