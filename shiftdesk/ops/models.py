"""The workers' heartbeat: one row per running worker process, touched on each loop."""

from __future__ import annotations

from django.db import models


class Heartbeat(models.Model):
    class Kind(models.TextChoices):
        SYNC_WORKER = "syncworker", "Sync worker (manage.py syncworker)"
        FREEBUSY_REFRESHER = "refreshbusy", "Free/busy refresher (manage.py refreshbusy)"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    worker = models.CharField(max_length=200, unique=True)  # host:pid[:id]
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.worker}"
