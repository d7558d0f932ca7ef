"""Export (service, command, view) and the search page: filters, formats, access, and auditing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.audit.chain import GENESIS, event_digest
from portal.audit.models import AuditEvent
from portal.audit.selectors import EXPORT_COLUMNS, AuditFilters, audit_export
from portal.audit.services import audit_record
from tests.portal.test_audit import attacker, empty_audit_trail


@pytest.fixture
def trail(db, make_user):
    """Events by two users on two days, plus system events."""
    alice, bob = make_user("admin", "alice"), make_user("staff", "bob")
    empty_audit_trail()
    audit_record(action="knowledge.upload", user=alice, object_type="document_version", object_id=1)
    audit_record(action="knowledge.delete", user=alice, object_type="document", object_id=1)
    audit_record(action="qa.ask", user=bob, detail={"passages": 3})
    audit_record(action="accounts.login_failed", outcome="denied", detail={"known_account": False})
    audit_record(action="knowledge.upload", user=bob, detail={"note": '=HYPERLINK("x")'})
    # Move the first two events a week back, as if written then (the trail's own clock).
    week_ago = timezone.now() - dt.timedelta(days=7)
    with attacker():
        AuditEvent.objects.filter(seq__lte=2).update(at=week_ago)
    return alice, bob


def seqs(filters: AuditFilters) -> list[int]:
    return [row["seq"] for row in audit_export(filters)]


def test_export_filters(trail):
    today = timezone.localdate()
    assert seqs(AuditFilters()) == [1, 2, 3, 4, 5]
    assert seqs(AuditFilters(action="knowledge.")) == [1, 2, 5]
    assert seqs(AuditFilters(action="knowledge.upload")) == [1, 5]
    assert seqs(AuditFilters(actor="alice")) == [1, 2]
    assert seqs(AuditFilters(actor="nobody")) == []
    assert seqs(AuditFilters(since=today)) == [3, 4, 5]
    assert seqs(AuditFilters(until=today - dt.timedelta(days=1))) == [1, 2]
    assert seqs(AuditFilters(until=today - dt.timedelta(days=7))) == [1, 2]  # inclusive day
    assert seqs(AuditFilters(outcome="denied")) == [4]
    assert seqs(AuditFilters(role="staff", action="knowledge.")) == [5]
    row = next(audit_export(AuditFilters(actor="bob")))
    assert (row["actor"], row["actor_role"], row["detail"]) == ("bob", "staff", {"passages": 3})
    assert set(row) == set(EXPORT_COLUMNS)


def test_an_export_can_be_verified_offline(trail, tmp_path):
    out = tmp_path / "trail.jsonl"
    call_command("audit_export", "--format", "jsonl", "--out", str(out))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    # Each row carries its hashed fields and links, so whoever holds the file can re-check the
    # chain without the database. The fixture backdated events 1 and 2 behind the chain's back:
    # the offline check finds exactly those.
    prev, broken = GENESIS, []
    hashed = ("seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id")
    for r in rows:
        fields = {k: r[k] for k in (*hashed, "client", "detail", "format", "outcome")}
        if r["prev_hash"] != prev or event_digest(prev_hash=prev, fields=fields) != r["hash"]:
            broken.append(r["seq"])
        prev = r["hash"]
    assert broken == [1, 2]


def test_export_command_writes_csv_and_is_audited(trail, capsys):
    call_command("audit_export", "--format", "csv", "--actor", "bob")
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["seq"] for r in rows] == ["3", "5"]
    # A cell a spreadsheet would run as a formula is exported as text.
    assert json.loads(rows[1]["detail"].lstrip("'")) == {"note": '=HYPERLINK("x")'}
    assert not rows[1]["detail"].startswith("=")
    export = AuditEvent.objects.filter(action="audit.export").latest("seq")
    assert export.detail == {"actor": "bob", "format": "csv", "rows": 2, "via": "command"}


def test_export_view_streams_and_is_audited(client, trail):
    alice, _ = trail
    client.force_login(alice)
    response = client.get("/audit/export", {"format": "jsonl", "action": "knowledge."})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    body = b"".join(response.streaming_content).decode()
    assert [json.loads(line)["seq"] for line in body.splitlines()] == [1, 2, 5]
    event = AuditEvent.objects.filter(action="audit.export").latest("seq")
    assert event.actor_id == alice.pk and event.detail == {
        "action": "knowledge.",
        "format": "jsonl",
    }

    csv_response = client.get("/audit/export", {"since": timezone.localdate().isoformat()})
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_response["Content-Disposition"]

    assert client.get("/audit/export", {"format": "xml"}).status_code == 400
    assert client.get("/audit/export", {"since": "not-a-date"}).status_code == 400


def test_export_and_search_need_the_view_audit_permission(client, trail):
    _, bob = trail
    client.force_login(bob)  # staff: no view_audit
    assert client.get("/audit/export").status_code == 403
    assert client.get("/audit/").status_code == 403
    assert not AuditEvent.objects.filter(action__in=["audit.export", "audit.view"]).exists()


def test_search_page_filters_and_paginates(client, trail, django_assert_max_num_queries):
    alice, _ = trail
    client.force_login(alice)
    for i in range(60):
        audit_record(action="qa.ask", detail={"n": i})
    # A fixed number whatever the page size: session (saved every request for idle expiry), user,
    # permissions, count, the audited view itself, the page of events, navigation.
    with django_assert_max_num_queries(16):
        response = client.get("/audit/", {"action": "qa."})
    body = response.content.decode()
    assert response.status_code == 200
    assert "61 events" in body and "Page 1 / 2" in body and "page=2" in body
    page2 = client.get("/audit/", {"action": "qa.", "page": 2}).content.decode()
    assert "Page 2 / 2" in page2
    assert AuditEvent.objects.filter(action="audit.view").latest("seq").detail == {
        "action": "qa.",
        "page": 2,
    }
