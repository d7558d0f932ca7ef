from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("qa", "0005_answer_model_unavailable"),
    ]

    operations = [
        migrations.AddField(
            model_name="answer",
            name="closest_sources",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
