from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0006_collection_example_questions")]

    operations = [
        # Documents stored before this field keep their titles: they count as chosen. New ones
        # start derived (False) until an uploader or an admin names them.
        migrations.AddField(
            model_name="document",
            name="title_chosen",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="document",
            name="title_chosen",
            field=models.BooleanField(default=False),
        ),
    ]
