from django.core.management.base import BaseCommand

from portal.accounts.services import demo_accounts_create


class Command(BaseCommand):
    help = "Create or reset one demo account per role; prints the new random passwords once."

    def handle(self, *args, **options) -> None:
        accounts = demo_accounts_create()
        self.stdout.write("Demo accounts (passwords are shown only now):")
        for account in accounts:
            self.stdout.write(
                f"  {account.role.value:<9} {account.username:<14} {account.password}"
            )
