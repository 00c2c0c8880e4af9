"""`manage.py rotate_keys [--check]`: re-encrypt every stored secret with the newest key.

Walks every EncryptedTextField of every model (lib/crypto.encrypted_fields: Azure AD OAuth 2 secret and
certificate key, calendar connections' token caches and Exchange passwords, retiring connections, feed
tokens, Outlook change-notification client states). Each value is re-encrypted with MultiFernet.rotate (the
first key of SHIFTDESK_ENCRYPTION_KEYS, or the key derived from SECRET_KEY when that is empty) and written
back only if the row still holds the ciphertext that was read: a worker that stored a refreshed token meanwhile
has already encrypted it with the newest key, and its write is kept.

Exit status 1 when a value cannot be decrypted with any configured key: do not remove the old keys then.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import models
from django.db.models import ExpressionWrapper, F, Value
from django.db.models.lookups import Exact

from shiftdesk.lib import crypto

BATCH = 500


def _raw(field: crypto.EncryptedTextField) -> ExpressionWrapper:
    """The column as stored (ciphertext): a plain TextField output, so no decryption on read."""
    return ExpressionWrapper(F(field.attname), output_field=models.TextField())


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the newest key (after adding a key; see README: Key rotation)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="only count what is not on the newest key; change nothing"
        )

    def handle(self, *args, check: bool = False, **options):
        crypto.reset_key_cache()
        newest = Fernet(crypto.configured_keys()[0])
        totals = {"rotated": 0, "current": 0, "undecryptable": 0}
        for model, field in crypto.encrypted_fields():
            counts = self._rotate_field(model, field, newest, check=check)
            for key, value in counts.items():
                totals[key] += value
            if any(counts.values()):
                self.stdout.write(
                    f"{model._meta.label}.{field.name}: {counts['rotated']} "
                    f"{'to re-encrypt' if check else 're-encrypted'}, {counts['current']} already on the newest "
                    f"key, {counts['undecryptable']} cannot be decrypted"
                )
        verb = "to re-encrypt" if check else "re-encrypted"
        self.stdout.write(
            f"{totals['rotated']} {verb}, {totals['current']} already on the newest key, "
            f"{totals['undecryptable']} cannot be decrypted."
        )
        if totals["undecryptable"]:
            raise CommandError(
                f"{totals['undecryptable']} stored values cannot be decrypted with any configured key: keep "
                "the old keys until they are entered again (Client Secret, authorizations)."
            )

    def _rotate_field(self, model, field, newest: Fernet, *, check: bool) -> dict[str, int]:
        counts = {"rotated": 0, "current": 0, "undecryptable": 0}
        rows = (
            model._default_manager.annotate(_ciphertext=_raw(field))
            .exclude(_ciphertext="")
            .exclude(_ciphertext__isnull=True)
            .values_list("pk", "_ciphertext")
            .order_by("pk")
        )
        last_pk = None
        while True:
            batch = list((rows.filter(pk__gt=last_pk) if last_pk is not None else rows)[:BATCH])
            if not batch:
                return counts
            last_pk = batch[-1][0]
            for pk, old in batch:
                try:
                    newest.decrypt(old.encode())
                    counts["current"] += 1
                    continue
                except InvalidToken:
                    pass
                try:
                    new = crypto.rotate(old)
                except crypto.DecryptionError:
                    counts["undecryptable"] += 1
                    continue
                counts["rotated"] += 1
                if not check:
                    model._default_manager.filter(
                        Exact(_raw(field), Value(old, output_field=models.TextField())), pk=pk
                    ).update(**{field.attname: Value(new, output_field=models.TextField())})
