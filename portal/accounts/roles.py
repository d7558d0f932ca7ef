"""The roles of the product and what each may do.

Anonymous citizens need no account: they may ask against public collections. Every other role is
a Django group whose permissions are listed here and applied by ``services.roles_sync``.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    STAFF = "staff"
    REVIEWER = "reviewer"
    ADMIN = "admin"


VIEW_STAFF = "accounts.view_staff_collections"
DRAFT = "accounts.draft_documents"
REVIEW = "accounts.review_answers"
MANAGE_KNOWLEDGE = "accounts.manage_knowledge"
VIEW_AUDIT = "accounts.view_audit"

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.STAFF: (VIEW_STAFF, DRAFT),
    Role.REVIEWER: (VIEW_STAFF, DRAFT, REVIEW),
    Role.ADMIN: (VIEW_STAFF, DRAFT, REVIEW, MANAGE_KNOWLEDGE, VIEW_AUDIT),
}
