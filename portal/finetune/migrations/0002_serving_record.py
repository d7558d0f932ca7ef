"""Copy what serves now into core's serving record, which the answer pipeline reads from here on
(portal/core/serving.py): without it an adapter promoted before this upgrade would stop serving."""

from django.db import migrations


def serving_record_fill(apps, schema_editor):
    Adapter = apps.get_model("finetune", "Adapter")
    ServingRecord = apps.get_model("core", "ServingRecord")
    adapter = Adapter.objects.filter(status="serving").first()
    if adapter is not None:
        ServingRecord.objects.update_or_create(
            pk=1,
            defaults={
                "adapter_id": adapter.id,
                "base_model_dir": adapter.base_model_dir,
                "adapter_dir": adapter.path,
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("finetune", "0001_initial"),
    ]

    operations = [migrations.RunPython(serving_record_fill, migrations.RunPython.noop)]
