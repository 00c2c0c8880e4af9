"""`manage.py createadmin EMAIL [--password P]`: create the first system admin (or promote an existing user).

Without --password it prompts twice (no echo). Passwords go through Django's validators like any other.
"""

from __future__ import annotations

import getpass

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shiftdesk.accounts import actions
from shiftdesk.accounts.models import User


class Command(BaseCommand):
    help = "Create a ShiftDesk system admin (email login)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", help="the password; prompted for when omitted")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args, email: str, password: str | None, first_name: str, last_name: str, **options):
        if password is None:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("The passwords do not match.")
        if not password:
            raise CommandError("A password is required.")
        existing = User.objects.filter(email__iexact=email.strip()).first()
        try:
            with transaction.atomic():
                if existing is not None:
                    actions.do_update_user(
                        existing,
                        email=existing.email,
                        first_name=first_name or existing.first_name,
                        last_name=last_name or existing.last_name,
                        role=User.Role.ADMIN,
                        by=None,
                    )
                    actions.do_set_user_password(existing, password=password, by=None)
                    if not existing.is_active:
                        actions.do_activate_user(existing, by=None)
                    user = existing
                else:
                    user = actions.do_create_user(
                        email=email,
                        first_name=first_name,
                        last_name=last_name,
                        role=User.Role.ADMIN,
                        password=password,
                        by=None,
                    )
        except ValidationError as e:
            raise CommandError(" ".join(e.messages)) from None
        verb = "Updated" if existing else "Created"
        self.stdout.write(self.style.SUCCESS(f"{verb} system admin {user.email}."))
