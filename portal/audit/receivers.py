"""Signal receivers that turn Django's own events into audit events.

Each receiver maps one signal to audit_record calls and nothing else. Covered: sign-in, failed
sign-in, sign-in refused by the throttle (accounts' ``login_throttled``), sign-out, absolute
session expiry (core's ``session_expired``); role (group) and
permission changes from anywhere (admin, shell, roles_sync); account creation, deletion and flag
changes (active, staff, superuser); and every add, change or delete made through /admin/ (its
LogEntry), which is how settings-like data such as lexicon terms are edited. Connected in
``AuditConfig.ready``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from portal.accounts.throttle import login_throttled
from portal.audit.models import Outcome
from portal.audit.services import audit_record, username_fingerprint
from portal.core.security import session_expired

_USER_FLAGS = ("is_active", "is_staff", "is_superuser")


def _login(sender, request, user, **kwargs: Any) -> None:
    audit_record(
        action="accounts.login", request=request, user=user, object_type="user", object_id=user.pk
    )


def _account_pk(username: str) -> int | None:
    user_model = get_user_model()
    if not username:
        return None
    return (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
        .values_list("pk", flat=True)
        .first()
    )


def _login_failed(sender, credentials: dict[str, Any], request=None, **kwargs: Any) -> None:
    # Django has already masked the password in ``credentials``; only the username is read, and
    # it is stored as a keyed hash: people type phone numbers and e-mails into that box.
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")
    account = _account_pk(username)
    audit_record(
        action="accounts.login_failed",
        request=request,
        user=AnonymousUser(),
        object_type="user" if account else "",
        object_id=account or "",
        outcome=Outcome.DENIED,
        detail={"username_hash": username_fingerprint(username), "known_account": bool(account)},
    )


def _login_throttled(sender, request, username: str, decision, **kwargs: Any) -> None:
    # As a failed sign-in: the attempted name only as a keyed hash, the account by id if real.
    account = _account_pk(username)
    audit_record(
        action="accounts.login_throttled",
        request=request,
        user=AnonymousUser(),
        object_type="user" if account else "",
        object_id=account or "",
        outcome=Outcome.DENIED,
        detail={
            "username_hash": username_fingerprint(username),
            "known_account": bool(account),
            "scope": decision.scope,
            "retry_after_s": decision.retry_after_s,
        },
    )


def _logout(sender, request, user, **kwargs: Any) -> None:
    if user is None:  # signing out without being signed in
        return
    audit_record(
        action="accounts.logout", request=request, user=user, object_type="user", object_id=user.pk
    )


def _labels(model, pks) -> list[str]:
    if model is Permission:
        perms = Permission.objects.filter(pk__in=pks).select_related("content_type")
        return sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms)
    if model is Group:
        return sorted(Group.objects.filter(pk__in=pks).values_list("name", flat=True))
    return sorted(str(pk) for pk in pks)


def _m2m_audit(
    *, instance, action: str, reverse: bool, model, pk_set, field: str, event: str, owner_type: str
) -> None:
    """Record an m2m change once per owner (the user or group whose access changed).

    ``field`` is the m2m on the owner ("groups", "permissions", "user_permissions"). A forward
    change has the owner as ``instance``; a reverse one (``group.user_set.add(...)``) has the
    other side as ``instance`` and the owners in ``pk_set``.
    """
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    verb = "added" if action == "post_add" else "removed"
    if not reverse:
        pks = (
            pk_set if pk_set is not None else getattr(instance, field).values_list("pk", flat=True)
        )
        changes = {instance.pk: _labels(model, pks)}
        owner_names = {instance.pk: str(getattr(instance, "name", ""))}
    else:
        other = _labels(type(instance), [instance.pk])
        owners = pk_set
        if owners is None:  # clear() from the other side: every owner linked now loses it
            owners = model._default_manager.filter(**{field: instance}).values_list("pk", flat=True)
        changes = {pk: other for pk in owners}
        owner_names = (
            dict(Group.objects.filter(pk__in=changes).values_list("pk", "name"))
            if model is Group
            else {}
        )
    for owner_pk, labels in changes.items():
        if not labels:
            continue
        detail: dict[str, Any] = {verb: labels}
        if owner_type == "group":
            detail["group"] = owner_names.get(owner_pk, "")
        audit_record(action=event, object_type=owner_type, object_id=owner_pk, detail=detail)


def _user_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs: Any) -> None:
    _m2m_audit(
        instance=instance,
        action=action,
        reverse=reverse,
        model=model,
        pk_set=pk_set,
        field="groups",
        event="accounts.role_change",
        owner_type="user",
    )


def _user_permissions_changed(
    sender, instance, action, reverse, model, pk_set, **kwargs: Any
) -> None:
    _m2m_audit(
        instance=instance,
        action=action,
        reverse=reverse,
        model=model,
        pk_set=pk_set,
        field="user_permissions",
        event="accounts.permission_change",
        owner_type="user",
    )


def _group_permissions_changed(
    sender, instance, action, reverse, model, pk_set, **kwargs: Any
) -> None:
    _m2m_audit(
        instance=instance,
        action=action,
        reverse=reverse,
        model=model,
        pk_set=pk_set,
        field="permissions",
        event="accounts.permission_change",
        owner_type="group",
    )


def _user_before_save(sender, instance, raw=False, update_fields=None, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(_USER_FLAGS):
        return  # e.g. the last_login update at every sign-in
    before = sender._default_manager.filter(pk=instance.pk).values(*_USER_FLAGS).first() or {}
    instance._audit_flag_changes = {
        flag: [before[flag], getattr(instance, flag)]
        for flag in _USER_FLAGS
        if flag in before and before[flag] != getattr(instance, flag)
    }


def _user_saved(sender, instance, created, raw=False, **kwargs: Any) -> None:
    if raw:
        return
    if created:
        flags = {flag: getattr(instance, flag) for flag in _USER_FLAGS}
        audit_record(
            action="accounts.user_create", object_type="user", object_id=instance.pk, detail=flags
        )
        return
    changes = getattr(instance, "_audit_flag_changes", None)
    instance._audit_flag_changes = None
    if changes:
        audit_record(
            action="accounts.user_change", object_type="user", object_id=instance.pk, detail=changes
        )


def _user_deleted(sender, instance, **kwargs: Any) -> None:
    audit_record(action="accounts.user_delete", object_type="user", object_id=instance.pk)


_ADMIN_VERBS = {ADDITION: "add", CHANGE: "change", DELETION: "delete"}


def _changed_fields(change_message: str) -> list[str]:
    """Field names from a LogEntry's JSON change message; never the values or object names."""
    try:
        parts = json.loads(change_message or "[]")
    except ValueError:
        return []
    fields: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        for body in part.values() if isinstance(part, dict) else []:
            if isinstance(body, dict):
                fields += [str(name) for name in body.get("fields", [])]
                if "name" in body:  # an inline object: its model name, not its text
                    fields.append(str(body["name"]))
    return sorted(set(fields))


def _admin_logged(sender, instance: LogEntry, created: bool, raw=False, **kwargs: Any) -> None:
    if raw or not created:
        return
    content_type = instance.content_type
    object_id = str(instance.object_id or "")  # text in LogEntry (an int before it is reloaded)
    audit_record(
        action=f"admin.{_ADMIN_VERBS.get(instance.action_flag, 'other')}",
        user=instance.user,
        object_type=(
            f"{content_type.app_label}.{content_type.model}" if content_type else "unknown"
        )[:60],
        object_id=int(object_id) if object_id.isdecimal() else object_id,
        detail={"fields": _changed_fields(instance.change_message)},
    )


def _session_expired(sender, request, user_id, after_seconds: int, **kwargs: Any) -> None:
    audit_record(
        action="auth.session_expired",
        request=request,
        object_type="user",
        object_id=user_id,
        detail={"after_seconds": after_seconds},
    )


def connect() -> None:
    user_model = get_user_model()
    uid = "audit."
    user_logged_in.connect(_login, dispatch_uid=uid + "login")
    user_login_failed.connect(_login_failed, dispatch_uid=uid + "login_failed")
    login_throttled.connect(_login_throttled, dispatch_uid=uid + "login_throttled")
    user_logged_out.connect(_logout, dispatch_uid=uid + "logout")
    session_expired.connect(_session_expired, dispatch_uid=uid + "session_expired")
    m2m_changed.connect(
        _user_groups_changed, sender=user_model.groups.through, dispatch_uid=uid + "groups"
    )
    m2m_changed.connect(
        _user_permissions_changed,
        sender=user_model.user_permissions.through,
        dispatch_uid=uid + "user_permissions",
    )
    m2m_changed.connect(
        _group_permissions_changed,
        sender=Group.permissions.through,
        dispatch_uid=uid + "group_permissions",
    )
    pre_save.connect(_user_before_save, sender=user_model, dispatch_uid=uid + "user_pre_save")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid=uid + "user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid=uid + "user_deleted")
    post_save.connect(_admin_logged, sender=LogEntry, dispatch_uid=uid + "admin_log")
