from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shiftdesk.accounts"
    label = "accounts"
