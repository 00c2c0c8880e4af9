from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calendarsync", "0007_eventlink_state_seq"),
    ]

    operations = [
        migrations.AddField(
            model_name="retiringconnection",
            name="total",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
