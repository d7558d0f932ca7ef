from django.db import models


class RolePermission(models.Model):
    """Holder for the product-wide permissions that roles grant.

    Not a table (managed=False): Django attaches permissions to a content type, and these belong
    to the product rather than to any one model. Roles (groups) are defined in ``roles.py``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_staff_collections", "Search and ask against staff-only collections"),
            ("draft_documents", "Draft letters, notices and leaflets from the knowledge base"),
            ("review_answers", "Approve, edit or reject answers held by the safety layer"),
            ("manage_knowledge", "Upload, version and delete documents and collections"),
            ("view_audit", "Search and export the audit trail"),
        ]

    def __str__(self) -> str:
        return "role permissions"
