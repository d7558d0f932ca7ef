"""Reads for accounts: which role a user acts in."""

from __future__ import annotations

from portal.accounts.roles import Role


def user_role(user) -> str:
    """The highest role a user holds, or "citizen" for anonymous and role-less users."""
    if not user.is_authenticated:
        return "citizen"
    names = set(user.groups.values_list("name", flat=True))
    for role in (Role.ADMIN, Role.REVIEWER, Role.STAFF):
        if role.value in names:
            return role.value
    return "admin" if user.is_superuser else "citizen"
