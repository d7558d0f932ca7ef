from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0005_ocr"),
    ]

    operations = [
        migrations.AddField(
            model_name="collection",
            name="example_questions",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="Example questions shown on the home page, in any of the "
                "collection's languages.",
            ),
        ),
    ]
