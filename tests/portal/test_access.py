"""Every URL declares who may use it, and no role reaches a page it should not.

The walk covers all URL patterns, so a view added later without an access policy fails here.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from portal.accounts.roles import ROLE_PERMISSIONS, Role

ROLES = [None, "staff", "reviewer", "admin"]
SAMPLE_KWARGS = {"pk": 1}


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _own_patterns():
    return [
        (route, p)
        for route, p in _walk(get_resolver().url_patterns)
        if not route.startswith("admin/")
    ]


def _concrete(route: str) -> str:
    path = "/" + route.replace("^", "").replace("$", "")
    for name, value in SAMPLE_KWARGS.items():
        path = path.replace(f"<int:{name}>", str(value))
    return path


def test_every_view_declares_an_access_policy():
    missing = [route for route, p in _own_patterns() if not hasattr(p.callback, "access_policy")]
    assert missing == [], f"views without @public or @requires: {missing}"


def test_roles_grant_what_roles_py_lists(db):
    from django.contrib.auth.models import Group

    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert granted == set(perms), role


@pytest.mark.parametrize("role", ROLES)
def test_no_unauthorized_2xx_on_any_route(client, make_user, role):
    user = make_user(role) if role else None
    if user:
        client.force_login(user)
    granted = set(ROLE_PERMISSIONS.get(Role(role), ())) if role else set()
    checked = 0
    for route, pattern in _own_patterns():
        policy = pattern.callback.access_policy
        if policy[0] == "public":
            continue
        required = set(policy[1:])
        path = _concrete(route)
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            checked += 1
            if not required <= granted:
                assert response.status_code in (302, 401, 403, 404, 405), (
                    f"{role or 'anonymous'} got {response.status_code} on {method.upper()} {path}"
                )
                if response.status_code == 302:
                    assert "/accounts/login/" in response["Location"]
    assert checked > 0


@pytest.mark.parametrize("role", ROLES)
def test_django_admin_is_for_admins_only(client, make_user, role):
    if role:
        client.force_login(make_user(role))
    response = client.get("/admin/knowledge/document/")
    if role == "admin":
        assert response.status_code in (200, 403)  # page access is then per model permission
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_can_open_the_knowledge_page(client, make_user):
    client.force_login(make_user("admin"))
    assert client.get("/knowledge/").status_code == 200
