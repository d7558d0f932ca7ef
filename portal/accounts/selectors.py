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


# --- Reading as a role (the retrieval test page, the seeded evaluation) ------------------------
CITIZEN = "citizen"
VIEWER_ROLES: tuple[str, ...] = (CITIZEN, *(role.value for role in Role))


class _Groups:
    """``user.groups`` as the knowledge selectors read it: ``all()`` gives a Group queryset."""

    def __init__(self, names: tuple[str, ...], ids: tuple[int, ...]) -> None:
        self._names, self._ids = names, ids

    def all(self):
        from django.contrib.auth.models import Group
        from django.db.models import Q

        return Group.objects.filter(Q(name__in=self._names) | Q(pk__in=self._ids))

    def values_list(self, *fields, **kwargs):
        return self.all().values_list(*fields, **kwargs)


class RoleViewer:
    """Someone who holds exactly one role (and optionally one named group), without an account.

    An admin testing what retrieval returns "for a staff member" must get exactly what a staff
    member gets, not what the admin may see: the knowledge selectors read only
    ``is_authenticated``, ``has_perm`` and ``groups``, which this answers from ROLE_PERMISSIONS.
    It is never saved, signed in, audited or rate-limited as anyone.
    """

    pk = None
    is_active = True
    is_superuser = False

    def __init__(self, role: str, *, group_ids: tuple[int, ...] = ()) -> None:
        from portal.accounts.roles import ROLE_PERMISSIONS

        if role not in VIEWER_ROLES:
            raise ValueError(f"unknown role {role!r}; choose from {', '.join(VIEWER_ROLES)}")
        self.role = role
        self.is_authenticated = role != CITIZEN or bool(group_ids)
        self._perms = frozenset(ROLE_PERMISSIONS.get(Role(role), ())) if role != CITIZEN else ()
        names = (role,) if role != CITIZEN else ()
        self.groups = _Groups(names, tuple(group_ids) if self.is_authenticated else ())

    @property
    def is_anonymous(self) -> bool:
        return not self.is_authenticated

    def has_perm(self, perm: str, obj=None) -> bool:
        return perm in self._perms

    def has_perms(self, perms, obj=None) -> bool:
        return all(perm in self._perms for perm in perms)

    def __repr__(self) -> str:
        return f"RoleViewer({self.role!r})"
