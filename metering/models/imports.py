"""Platform imports (seed 003's usage collection): the record of each imported usage file and
the platform regions the hourly collection reads files for."""

import uuid

from django.db import models
from django.utils import timezone

from .events import NAME_MAX
from .usage import Platform

# How many rejected records an import keeps with their reasons (the counts cover them all).
ERRORS_KEPT = 100


class ImportStatus(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "Imported"
    FAILED = "failed", "Failed"


class UsageImport(models.Model):
    """One platform usage file read through the ingest: how far it got and what became of its
    records. `records_total` is known once the file is read; a failed file says why."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    region = models.CharField(max_length=NAME_MAX, blank=True)
    file_name = models.CharField(max_length=255)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    records_total = models.IntegerField(null=True, blank=True)
    records = models.IntegerField(default=0, help_text="Records read so far.")
    events = models.IntegerField(default=0, help_text="Usage events made of them.")
    accepted = models.IntegerField(default=0)
    duplicates = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0, help_text="Records skipped, with reasons.")
    errors = models.JSONField(
        default=list,
        blank=True,
        help_text=f"The first {ERRORS_KEPT} rejected records: record number and reason.",
    )
    failure = models.TextField(blank=True, help_text="Why the file could not be imported.")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["platform", "region", "-started_at"], name="usageimport_region")
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.region} {self.file_name}"


class CollectionRegion(models.Model):
    """A platform region whose usage files the hourly collection imports from
    `USAGE_IMPORT_DIR/<platform>/<region>/`. Registered when its folder is first seen."""

    platform = models.CharField(max_length=20, choices=Platform.choices)
    region = models.CharField(max_length=NAME_MAX)
    enabled = models.BooleanField(default=True)
    last_collected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["platform", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "region"], name="one_collection_region_per_platform"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.region}"
