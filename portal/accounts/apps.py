from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "portal.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Groups and their permissions are code, not data: re-applied after every migrate so a
        # permission added in a release reaches existing deployments.
        post_migrate.connect(_roles_sync, dispatch_uid="accounts.roles_sync")


def _roles_sync(**kwargs) -> None:
    from portal.accounts.services import roles_sync

    roles_sync()
