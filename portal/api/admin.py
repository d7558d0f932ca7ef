from django.contrib import admin

from portal.accounts.roles import VIEW_AUDIT
from portal.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are listed and revoked here; they are created with `manage.py api_token create`,
    which prints the secret once (the admin never sees it: only its hash is stored)."""

    list_display = ("name", "prefix", "owner", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "owner__username")
    readonly_fields = ("owner", "name", "prefix", "token_hash", "created_at", "last_used_at")
    fields = (*readonly_fields, "revoked_at")

    # Roles grant no per-model permissions (portal/accounts/roles.py): the security oversight
    # permission (admins) may list tokens and revoke them; nobody adds or deletes them here.
    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(VIEW_AUDIT)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(VIEW_AUDIT)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(VIEW_AUDIT)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
