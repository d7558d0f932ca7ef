"""The management commands admins and `make run` use."""

import pytest
from django.core.management import CommandError, call_command

from portal.knowledge.models import Collection, Document, IngestionJob
from tests.portal.factories import PASSPORT_MD


def test_ingest_command_creates_the_collection_and_reports_failures(db, tmp_path, capsys):
    (tmp_path / "passport.md").write_text(PASSPORT_MD)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "fake.pdf").write_bytes(b"%PDF-1.4 garbage garbage")
    with pytest.raises(CommandError, match="2 file"):
        call_command("ingest", str(tmp_path), "--collection", "policies")
    err = capsys.readouterr().err
    assert "empty.txt" in err and "fake.pdf" in err
    assert Collection.objects.filter(slug="policies").exists()
    assert IngestionJob.objects.filter(status="done").count() == 1


def test_ingest_command_queue_mode_only_enqueues(db, tmp_path, django_capture_on_commit_callbacks):
    (tmp_path / "passport.md").write_text(PASSPORT_MD)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command("ingest", str(tmp_path / "passport.md"), "--collection", "policies", "--queue")
    assert len(callbacks) == 1
    assert IngestionJob.objects.get().status == "queued"


def test_load_demo_loads_every_manifest_entry_once(db, capsys):
    # A demo loaded before collections had a jurisdiction, whose description an admin edited.
    Collection.objects.create(slug="public-services", name="Public Services", description="ours")
    call_command("load_demo")
    first = Document.objects.count()
    assert first >= 10
    assert IngestionJob.objects.exclude(status="done").count() == 0
    call_command("load_demo")
    assert Document.objects.count() == first
    assert "0 new" in capsys.readouterr().out
    staff_only = Collection.objects.get(slug="clinical-cases-zh")
    assert staff_only.audience == "staff"
    # demo/knowledge/collections.json: metadata fills what is blank, never an admin's edit.
    laws = Collection.objects.get(slug="cn-law")
    assert laws.jurisdiction == "cn" and laws.description and laws.documents.count() == 12
    us = Collection.objects.get(slug="public-services")
    assert us.jurisdiction == "us" and us.description == "ours"


def test_create_demo_accounts_prints_each_role_once(db, capsys):
    call_command("create_demo_accounts")
    out = capsys.readouterr().out
    for role in ("staff", "reviewer", "admin"):
        assert f"demo-{role}" in out
