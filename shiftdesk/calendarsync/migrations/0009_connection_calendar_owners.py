from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("calendarsync", "0008_retiringconnection_total"),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarconnection",
            name="sync_calendar_owner",
            field=models.CharField(blank=True, max_length=320),
        ),
        migrations.AddField(
            model_name="calendarconnection",
            name="freebusy_calendar_owner",
            field=models.CharField(blank=True, max_length=320),
        ),
    ]
