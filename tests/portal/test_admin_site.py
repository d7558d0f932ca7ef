"""The admin role can use every page of Django's site administration; other roles cannot."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from portal.safety.models import SensitiveTerm


def _changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def test_the_admin_role_opens_every_registered_changelist(client, make_user):
    client.force_login(make_user("admin"))
    paths = _changelists()
    assert "/admin/safety/sensitiveterm/" in paths and "/admin/feedback/feedback/" in paths
    refused = {path: client.get(path).status_code for path in paths}
    assert {path: status for path, status in refused.items() if status != 200} == {}
    index = client.get("/admin/").content.decode()
    assert "/admin/safety/sensitiveterm/" in index and "/admin/knowledge/document/" in index


def test_the_admin_role_curates_the_lexicon_in_the_admin(client, make_user):
    client.force_login(make_user("admin"))
    assert client.get("/admin/safety/sensitiveterm/add/").status_code == 200
    before = SensitiveTerm.objects.count()
    response = client.post(
        "/admin/safety/sensitiveterm/add/",
        {"term": "ghost gun kit", "category": "weapons", "language": "en", "action": "refuse",
         "enabled": "on", "note": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert SensitiveTerm.objects.count() == before + 1


def test_the_admin_role_cannot_make_itself_a_superuser(client, make_user):
    user = make_user("admin")
    client.force_login(user)
    change = f"/admin/auth/user/{user.pk}/change/"
    assert client.get(change).status_code == 200  # viewable
    response = client.post(change, {"username": user.username, "is_superuser": "on"})
    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.is_superuser


@pytest.mark.parametrize("role", [None, "staff", "reviewer"])
def test_other_roles_are_sent_to_the_admin_login(client, make_user, role):
    if role:
        client.force_login(make_user(role))
    for path in ["/admin/", *_changelists()]:
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], path


def test_a_staff_flag_alone_opens_no_model_page(client, db):
    # is_staff without the admin role (a hand-made account) reaches the index, not the models.
    user = get_user_model().objects.create_user(
        username="flag-only", password="a-long-test-password-1", is_staff=True
    )
    client.force_login(user)
    assert {client.get(path).status_code for path in _changelists()} == {403}
