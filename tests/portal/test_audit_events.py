"""What gets recorded: sign-in, failed sign-in, sign-out, role and permission changes, admin edits,
uploads, versions and deletes — with actor, role, outcome, object ids and a keyed source address,
and never a password, a raw address or planted personal data (in the trail or in the logs)."""

from __future__ import annotations

import json
import logging

from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from portal.audit.models import AuditCheckpoint, AuditEvent
from portal.audit.redaction import redact_text
from portal.audit.selectors import AuditFilters, audit_export
from portal.audit.services import audit_checkpoint_create, audit_record, username_fingerprint
from portal.audit.signing import keyed_hash
from portal.knowledge.models import DocumentVersion
from tests.portal.factories import PASSPORT_MD, collection

PASSWORD = "a-long-test-password-1"  # what conftest's make_user sets
PHONE, EMAIL, PRC_ID = "13812345678", "zhang.wei@example.com", "11010519491231002X"
PLANTED = (PHONE, EMAIL, PRC_ID)


def trail_text() -> str:
    """Everything the audit tables hold, as one string (what an export or a DB dump shows)."""
    rows = list(audit_export(AuditFilters()))
    checkpoints = list(AuditCheckpoint.objects.values())
    return json.dumps([rows, checkpoints], default=str, ensure_ascii=False)


def last(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("seq")


def test_sign_in_failed_sign_in_and_sign_out_are_recorded(client, make_user):
    user = make_user("staff", username="clerk")
    address = {"REMOTE_ADDR": "203.0.113.9"}

    client.post("/accounts/login/", {"username": "clerk", "password": "wrong-guess-77"}, **address)
    failed = last("accounts.login_failed")
    assert (failed.outcome, failed.actor_id, failed.actor_role) == ("denied", None, "citizen")
    assert (failed.object_type, failed.object_id) == ("user", str(user.pk))
    assert failed.detail == {"username_hash": username_fingerprint("clerk"), "known_account": True}

    client.post("/accounts/login/", {"username": "clerk", "password": PASSWORD}, **address)
    login = last("accounts.login")
    assert (login.actor_id, login.actor_role, login.outcome) == (user.pk, "staff", "ok")
    # The same address gives the same keyed hash, so attempts line up without the address.
    assert login.client == failed.client == keyed_hash("client", "203.0.113.9")

    client.post("/accounts/logout/", **address)
    assert last("accounts.logout").actor_id == user.pk

    text = trail_text()
    assert "wrong-guess-77" not in text and PASSWORD not in text and "203.0.113.9" not in text


def test_failed_sign_in_with_an_unknown_name_stores_only_its_keyed_hash(client, db):
    client.post("/accounts/login/", {"username": "nobody-here", "password": "x"})
    failed = last("accounts.login_failed")
    assert failed.object_id == "" and failed.detail["known_account"] is False
    assert "nobody-here" not in trail_text()


def test_role_and_permission_changes_are_recorded(make_user):
    user = make_user("staff")
    granted = last("accounts.role_change")
    assert (granted.object_type, granted.object_id) == ("user", str(user.pk))
    assert granted.detail == {"added": ["staff"]}
    assert last("accounts.user_create").object_id == str(user.pk)

    reviewers = Group.objects.get(name="reviewer")
    reviewers.user_set.add(user)  # from the group's side: the user is still the subject
    assert last("accounts.role_change").detail == {"added": ["reviewer"]}
    user.groups.clear()
    assert last("accounts.role_change").detail == {"removed": ["reviewer", "staff"]}

    perm = Permission.objects.get(codename="view_audit")
    reviewers.permissions.add(perm)
    change = last("accounts.permission_change")
    assert (change.object_type, change.object_id) == ("group", str(reviewers.pk))
    assert change.detail == {"added": ["accounts.view_audit"], "group": "reviewer"}

    user.is_superuser = True
    user.save()
    assert last("accounts.user_change").detail == {"is_superuser": [False, True]}


def test_admin_edits_are_recorded_with_the_acting_user(client, django_user_model, make_user):
    boss = django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    client.force_login(boss)
    staff = Group.objects.get(name="staff")
    perms = list(staff.permissions.values_list("pk", flat=True))
    extra = Permission.objects.get(codename="view_audit").pk
    response = client.post(
        f"/admin/auth/group/{staff.pk}/change/",
        {"name": "staff", "permissions": [*perms, extra], "_save": "Save"},
        REMOTE_ADDR="198.51.100.20",
    )
    assert response.status_code == 302
    admin_event = last("admin.change")
    assert (admin_event.object_type, admin_event.object_id) == ("auth.group", str(staff.pk))
    assert admin_event.actor_id == boss.pk and admin_event.detail == {"fields": ["Permissions"]}
    perm_event = last("accounts.permission_change")
    # Recorded deep in a signal, yet it knows who and where from (the request context).
    assert perm_event.actor_id == boss.pk and perm_event.actor_role == "admin"
    assert perm_event.client == keyed_hash("client", "198.51.100.20")
    assert perm_event.detail == {"added": ["accounts.view_audit"], "group": "staff"}


def test_uploads_versions_and_deletes_are_recorded(client, make_user, settings):
    admin = make_user("admin")
    client.force_login(admin)
    coll = collection()

    def upload(name: str, data: bytes):
        files = [SimpleUploadedFile(name, data)]
        result = client.post("/api/v1/documents", {"collection": coll.slug, "files": files})
        return result.json()["results"][0]

    def version_pk(result: dict) -> int:
        return DocumentVersion.objects.get(
            document_id=result["document_id"], number=result["version"]
        ).pk

    first = upload("passport.md", PASSPORT_MD.encode())
    event = last("knowledge.upload")
    assert (event.actor_id, event.actor_role, event.outcome) == (admin.pk, "admin", "ok")
    assert (event.object_type, event.object_id) == ("document_version", str(version_pk(first)))
    assert event.detail["version"] == 1 and event.detail["collection"] == coll.slug

    second = upload("passport.md", (PASSPORT_MD + "\nUpdated.").encode())
    version_event = last("knowledge.version_add")
    assert version_event.object_id == str(version_pk(second))
    assert version_event.detail["version"] == 2

    upload("copy.md", PASSPORT_MD.encode())
    assert last("knowledge.upload").detail["duplicate_of"] == version_pk(first)

    settings.UPLOAD_MAX_BYTES = 1024
    upload("big.md", b"x" * 4096)
    failed = last("knowledge.upload")
    assert failed.outcome == "failed" and failed.detail == {"error_code": "too_large"}

    document_id = event.detail["document_id"]
    client.post(f"/knowledge/{document_id}/delete")
    deleted = last("knowledge.delete")
    assert (deleted.object_id, deleted.actor_id) == (str(document_id), admin.pk)


def test_client_address_follows_trusted_proxies_only(db, settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9"
    )
    # No trusted proxy: X-Forwarded-For is client-supplied and ignored.
    assert audit_record(action="t", request=request).client == keyed_hash("client", "10.0.0.2")
    settings.AUDIT_PROXY_COUNT = 1  # one proxy: the entry it appended is the client
    assert audit_record(action="t", request=request).client == keyed_hash("client", "203.0.113.9")


def test_planted_personal_data_reaches_neither_the_trail_nor_the_logs(
    client, make_user, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    # In the username box of the sign-in form, alone and together.
    for username in (*PLANTED, f"{PHONE} {EMAIL} {PRC_ID}"):
        client.post("/accounts/login/", {"username": username, "password": "secret-typed-9"})
    assert AuditEvent.objects.filter(action="accounts.login_failed").count() == 4

    # In the title of an upload (the title comes from the file name), accepted and rejected.
    client.force_login(make_user("admin"))
    coll = collection()
    name = f"体检报告 {PHONE} {EMAIL} 身份证{PRC_ID}.md"
    files = [SimpleUploadedFile(name, PASSPORT_MD.encode())]
    response = client.post("/api/v1/documents", {"collection": coll.slug, "files": files})
    assert response.status_code == 201
    settings.UPLOAD_MAX_BYTES = 1024
    files = [SimpleUploadedFile(name, b"y" * 4096)]
    client.post("/api/v1/documents", {"collection": coll.slug, "files": files})

    # And in a careless caller's detail: redacted on the way in.
    note = audit_record(action="test.note", detail={"note": f"call {PHONE}, mail {EMAIL}"})
    assert PHONE not in str(note.detail) and EMAIL not in str(note.detail)
    audit_checkpoint_create()

    text, logs = trail_text(), caplog.text
    for value in (*PLANTED, "secret-typed-9"):
        assert value not in text, value
        assert value not in logs, value


def test_redaction_keeps_ids_dates_and_short_numbers():
    text = redact_text(f"手机{PHONE}，邮箱{EMAIL}，身份证{PRC_ID}；v12, 2026-01-31, doc 4521")
    assert PHONE not in text and EMAIL not in text and PRC_ID not in text
    assert "v12" in text and "2026-01-31" in text and "doc 4521" in text


def test_large_integer_ids_are_kept_and_string_ids_redacted(db):
    assert audit_record(action="t", object_type="document", object_id=12345678).object_id == (
        "12345678"
    )
    assert PHONE not in audit_record(action="t", object_type="x", object_id=PHONE).object_id
