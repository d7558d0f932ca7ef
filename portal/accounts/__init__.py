"""Accounts and roles: citizen (anonymous), staff, reviewer, admin."""
