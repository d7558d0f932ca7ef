"""Admin for the knowledge base: oversight, not a back door.

Documents, versions, chunks and indexes change only through the knowledge services (upload,
new version, retry, delete), which size-check, deduplicate, version, queue ingestion and record
the audit trail; a row added or edited here would skip all of that (a version without a file or
a job, a chunk the index never saw, a hard delete that breaks old citations). So these pages are
read-only: uploads are made on the portal's documents page, and "Remove from answers" goes
through the same delete service as that page. A collection's groups (and its name, description,
languages, audience, jurisdiction and example questions) are edited here through
``collection_update``, which records the change; collections are created on the portal's
collections page.

Roles grant no per-model Django permissions (portal/accounts/roles.py), so these pages check the
knowledge managers' permission themselves.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.knowledge.forms import CollectionAdminForm
from portal.knowledge.models import (
    Chunk,
    Collection,
    Document,
    DocumentVersion,
    IngestionJob,
    VectorIndex,
)
from portal.knowledge.services import COLLECTION_EDITABLE, collection_update, document_delete


class _ReadOnly(admin.ModelAdmin):
    """Knowledge managers may look; nobody adds, edits or deletes rows here."""

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _portal_link(obj: Document) -> str:
    return format_html(
        '<a href="{}">{}</a>',
        reverse("knowledge:document_detail", args=[obj.pk]),
        _("Versions, new version and retry on the portal's document page"),
    )


@admin.register(Collection)
class CollectionAdmin(_ReadOnly):
    form = CollectionAdminForm
    list_display = ("name", "slug", "audience", "created_at")
    # What the form edits is what collection_update saves: one list, in the service.
    fields = ("slug", *COLLECTION_EDITABLE, "created_at")
    readonly_fields = ("slug", "created_at")
    filter_horizontal = ("groups",)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    def save_model(self, request, obj, form, change) -> None:
        collection_update(
            collection=obj,
            changed=[f for f in form.changed_data if f in COLLECTION_EDITABLE],
            groups=form.cleaned_data.get("groups"),
            user=request.user,
        )

    def save_related(self, request, form, formsets, change) -> None:
        pass  # collection_update has set the groups; a collection has no inlines


class VersionInline(admin.TabularInline):
    model = DocumentVersion
    fields = ("number", "original_filename", "status", "effective_from", "expires_on", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)


@admin.register(Document)
class DocumentAdmin(_ReadOnly):
    list_display = ("title", "collection", "created_at", "deleted_at")
    list_filter = ("collection",)
    search_fields = ("title",)
    fields = ("title", "collection", "created_by", "created_at", "deleted_at", "portal_page")
    readonly_fields = fields
    inlines = [VersionInline]
    actions = ["remove_from_answers"]

    @admin.display(description=_("Portal"))
    def portal_page(self, obj: Document) -> str:
        return _portal_link(obj)

    def has_remove_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    @admin.action(description=_("Remove from answers"), permissions=["remove"])
    def remove_from_answers(self, request, queryset) -> None:
        """The portal's delete: a soft delete (old citations still resolve), audited, and the
        index sync queued; never Django's cascade, which would take the versions with it."""
        live = list(queryset.filter(deleted_at__isnull=True))
        for document in live:
            document_delete(document=document, user=request.user)
        count = len(live)
        self.message_user(
            request,
            ngettext(
                "%(n)d document removed from answers.",
                "%(n)d documents removed from answers.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )


@admin.register(DocumentVersion)
class DocumentVersionAdmin(_ReadOnly):
    list_display = ("document", "number", "status", "media_type", "page_count", "effective_from")
    list_filter = ("status", "media_type")
    exclude = ("parsed",)


@admin.register(IngestionJob)
class IngestionJobAdmin(_ReadOnly):
    list_display = ("version", "status", "step", "progress_done", "progress_total", "attempts")
    list_filter = ("status",)


@admin.register(Chunk)
class ChunkAdmin(_ReadOnly):
    list_display = ("id", "version", "position", "page_start")
    search_fields = ("text",)


@admin.register(VectorIndex)
class VectorIndexAdmin(_ReadOnly):
    list_display = ("model", "version", "size", "dimension", "updated_at")
