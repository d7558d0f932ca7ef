"""manage.py api_token create USER --name NAME | list [USER] | revoke PREFIX"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.api.models import ApiToken
from portal.api.services import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke API tokens. A new token is printed once and never again."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token acting as USER")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="what the token is for")
        listing = sub.add_parser("list", help="tokens (prefixes only)")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="revoke the token with this prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action: str, **options) -> None:
        if action == "create":
            user = get_user_model().objects.filter(username=options["username"]).first()
            if user is None:
                raise CommandError(f"no user {options['username']!r}")
            issued = api_token_create(owner=user, name=options["name"])
            self.stderr.write(
                f"Token {issued.token.name!r} for {user.username} (shown once; store it now):"
            )
            self.stdout.write(issued.secret)
        elif action == "list":
            tokens = ApiToken.objects.select_related("owner")
            if options.get("username"):
                tokens = tokens.filter(owner__username=options["username"])
            for t in tokens:
                state = "revoked" if t.revoked_at else "active"
                used = t.last_used_at.isoformat() if t.last_used_at else "never"
                self.stdout.write(f"{t.prefix}  {state:7}  {t.owner.username}  {t.name}  {used}")
        else:
            matches = list(ApiToken.objects.filter(prefix=options["prefix"]))
            if len(matches) != 1:
                raise CommandError(f"{len(matches)} tokens have prefix {options['prefix']!r}")
            revoked = api_token_revoke(token=matches[0])
            self.stdout.write("revoked" if revoked else "already revoked")
