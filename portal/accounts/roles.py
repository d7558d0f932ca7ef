"""The roles of the product and what each may do.

Anonymous citizens need no account: they may ask against public collections. Every other role is
a Django group whose permissions are listed here and applied by ``services.roles_sync`` (after
every migrate, so a permission added here reaches existing deployments).
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

# Django's site administration (/admin/, the admin role's only: it alone gets is_staff) checks
# Django's model permissions, except where a ModelAdmin checks a role permission above itself
# (knowledge, drafting, API tokens). Without these the admin role got 403 on the lexicon, the
# feedback and the records it oversees. Curating the lexicon is the only editing here; the rest is
# read-only, and users and groups only viewable: changing a user would let an admin make itself a
# superuser.
ADMIN_SITE: tuple[str, ...] = (
    "safety.view_sensitiveterm",
    "safety.add_sensitiveterm",
    "safety.change_sensitiveterm",
    "safety.delete_sensitiveterm",
    "safety.view_lexiconversion",
    "feedback.view_feedback",
    "qa.view_answer",
    "review.view_reviewdecision",
    "evaluation.view_evaluationrun",
    "finetune.view_dataset",
    "finetune.view_adapter",
    "finetune.view_servingchange",
    "audit.view_auditevent",
    "audit.view_auditcheckpoint",
    "auth.view_user",
    "auth.view_group",
)

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.STAFF: (VIEW_STAFF, DRAFT),
    Role.REVIEWER: (VIEW_STAFF, DRAFT, REVIEW),
    Role.ADMIN: (VIEW_STAFF, DRAFT, REVIEW, MANAGE_KNOWLEDGE, VIEW_AUDIT, *ADMIN_SITE),
}
