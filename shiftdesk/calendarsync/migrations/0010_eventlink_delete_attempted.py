from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calendarsync", "0009_connection_calendar_owners"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventlink",
            name="delete_attempted",
            field=models.BooleanField(default=False),
        ),
    ]
