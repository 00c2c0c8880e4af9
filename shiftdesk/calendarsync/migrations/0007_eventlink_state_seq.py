from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calendarsync", "0006_connection_delta_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventlink",
            name="state_seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
