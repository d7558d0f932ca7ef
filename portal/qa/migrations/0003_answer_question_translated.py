from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("qa", "0002_answer_status_abandoned_failed"),
    ]

    operations = [
        migrations.AddField(
            model_name="answer",
            name="question_translated",
            field=models.TextField(
                blank=True,
                help_text="The question in the sources' language, when they are written in another one.",
            ),
        ),
    ]
