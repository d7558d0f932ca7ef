"""Writes for accounts: role groups and demo accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from portal.accounts.roles import ROLE_PERMISSIONS, Role


def roles_sync() -> None:
    """Create the role groups and set exactly the permissions ``roles.py`` lists."""
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role.value)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is None:  # first migrate: permissions appear after the app's post_migrate
                continue
            wanted.append(found)
        group.permissions.set(wanted)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    password: str


@transaction.atomic
def demo_accounts_create(*, prefix: str = "demo") -> list[DemoAccount]:
    """Create (or reset) one account per role with a fresh random password.

    Passwords are generated here and shown once by the caller; only their hashes are stored.
    """
    roles_sync()
    user_model = get_user_model()
    accounts = []
    for role in Role:
        username = f"{prefix}-{role.value}"
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(username=username)
        user.set_password(password)
        # Django's admin site is for the admin role only.
        user.is_staff = role is Role.ADMIN
        user.save()
        user.groups.set([Group.objects.get(name=role.value)])
        accounts.append(DemoAccount(username=username, role=role, password=password))
    return accounts


def user_role_assign(*, user, role: Role) -> None:
    roles_sync()
    user.groups.add(Group.objects.get(name=role.value))
    if role is Role.ADMIN and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
