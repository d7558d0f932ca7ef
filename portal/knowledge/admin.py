from django.contrib import admin

from portal.knowledge.models import (
    Chunk,
    Collection,
    Document,
    DocumentVersion,
    IngestionJob,
    VectorIndex,
)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "audience", "created_at")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("groups",)


class VersionInline(admin.TabularInline):
    model = DocumentVersion
    fields = ("number", "original_filename", "status", "effective_from", "expires_on", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "collection", "created_at", "deleted_at")
    list_filter = ("collection",)
    search_fields = ("title",)
    inlines = [VersionInline]


@admin.register(DocumentVersion)
class DocumentVersionAdmin(admin.ModelAdmin):
    list_display = ("document", "number", "status", "media_type", "page_count", "effective_from")
    list_filter = ("status", "media_type")
    exclude = ("parsed",)
    readonly_fields = ("sha256", "size_bytes", "media_type", "language", "page_count", "status")


@admin.register(IngestionJob)
class IngestionJobAdmin(admin.ModelAdmin):
    list_display = ("version", "status", "step", "progress_done", "progress_total", "attempts")
    list_filter = ("status",)
    readonly_fields = [f.name for f in IngestionJob._meta.fields]


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    list_display = ("id", "version", "position", "page_start")
    search_fields = ("text",)
    readonly_fields = [f.name for f in Chunk._meta.fields]


@admin.register(VectorIndex)
class VectorIndexAdmin(admin.ModelAdmin):
    list_display = ("model", "version", "size", "dimension", "updated_at")
    readonly_fields = [f.name for f in VectorIndex._meta.fields]
