"""`manage.py ask "QUESTION"`: the answer pipeline from the command line (operators, scripts)."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.management.base import BaseCommand, CommandError

from portal.accounts.roles import Role
from portal.accounts.services import user_role_assign
from portal.qa.selectors import answer_payload
from portal.qa.services import answer_run

CLI_STAFF_USERNAME = "cli-staff"


def _staff_user():
    """A service account with the staff role and no password: retrieval filters by the asker's
    role, so `--role staff` must ask as a real staff member."""
    user, created = get_user_model().objects.get_or_create(username=CLI_STAFF_USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user_role_assign(user=user, role=Role.STAFF)
    return user


class Command(BaseCommand):
    help = "Answer a question with the full pipeline and print the published answer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("question")
        parser.add_argument(
            "--collection", action="append", default=[], help="limit to a collection slug"
        )
        parser.add_argument("--role", choices=["citizen", "staff"], default="citizen")
        parser.add_argument("--json", action="store_true", help="print the answer record as JSON")

    def handle(self, *args, question: str, collection: list[str], role: str, **options) -> None:
        if not question.strip():
            raise CommandError("the question is empty")
        user = _staff_user() if role == "staff" else AnonymousUser()
        outcome = answer_run(question=question, user=user, collections=collection or None)
        payload = answer_payload(outcome.answer)
        if options["json"]:
            payload["timings"] = outcome.answer.timings
            payload["verification"] = outcome.answer.verification
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"status: {outcome.status}")
        if outcome.emergency_notice:
            self.stdout.write(f"!! {outcome.emergency_notice}")
        if outcome.status == "answered":
            self.stdout.write(outcome.answer.published_text)
            for label, c in sorted(outcome.citations.items()):
                where = f"v{c['version']}" + (f", p. {c['page']}" if c["page"] else "")
                self.stdout.write(
                    f"  [{label}] {c['document']} ({where}, in effect {c['effective_from']})"
                )
        if outcome.guidance:
            self.stdout.write(outcome.guidance)
        self.stdout.write(f"answer id: {outcome.answer.public_id}")
