"""The import_usage command, the hourly collect-usage job over USAGE_IMPORT_DIR and the admin's
"collect now" for selected regions."""

import shutil
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from unittest import mock

from django.test import override_settings
from django.urls import reverse

from accounts.models import JobRun
from metering.imports.collect import usage_collect
from metering.models import CollectionRegion, ImportStatus, UsageEvent, UsageImport
from metering.services.ingest import IngestResult, events_ingest
from metering.tasks import COLLECT_JOB, collect_usage
from tests.base import run_cli
from tests.factories import UserFactory

from .test_imports import SAMPLES, ImportTestCase

NOW = datetime(2026, 6, 1, 9, 7, tzinfo=UTC)


class ImportCommandTests(ImportTestCase):
    def test_imports_a_file_and_prints_the_summary(self) -> None:
        argv = ("--platform", "cloudstack", "--region", "zone-1", str(SAMPLES / "cloudstack.json"))
        status, out, err = run_cli("import_usage", *argv)
        self.assertEqual(status, 0, err)
        self.assertIn("4 records: 3 events, 3 accepted, 0 duplicates; 1 records rejected.", out)
        self.assertIn("record 4: No meter is mapped for CloudStack 3", out)
        # Not a terminal: progress lines instead of a bar.
        self.assertIn("cloudstack.json: 4/4 records", err)
        self.assertEqual(set(UsageEvent.objects.values_list("region", flat=True)), {"zone-1"})
        status, out, _ = run_cli("import_usage", *argv)
        self.assertIn("3 events, 0 accepted, 3 duplicates", out)

    def test_bad_input_exits_1_with_a_message(self) -> None:
        cases = [
            (("--platform", "openstack", str(SAMPLES / "cloudstack.json")), "Unknown platform"),
            (("--platform", "cloudstack", str(SAMPLES / "missing.json")), "No such file"),
            (("--platform", "cloudstack", str(SAMPLES / "azure_local.csv")), "not JSON"),
            (("--platform", "azure_local", str(SAMPLES / "cloudstack.json")), "lacks the column"),
            (("--platform", "cloudstack", "--region", "a\tb", str(SAMPLES / "cloudstack.json")),
             "--region"),
        ]  # fmt: skip
        for argv, message in cases:
            with self.subTest(argv=argv):
                status, _, err = run_cli("import_usage", *argv)
                self.assertEqual(status, 1)
                self.assertIn(message, err)
        self.assertEqual(UsageEvent.objects.count(), 0)
        self.assertEqual(
            list(UsageImport.objects.values_list("status", flat=True)), [ImportStatus.FAILED] * 2
        )


class CollectTests(ImportTestCase):
    def setUp(self) -> None:
        self.root = Path(self.enterContext(TemporaryDirectory()))
        self.enterContext(override_settings(USAGE_IMPORT_DIR=self.root))

    def drop(self, platform: str, region: str, sample: str, name: str | None = None) -> Path:
        folder = self.root / platform / region
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (name or sample)
        shutil.copy(SAMPLES / sample, target)
        return folder

    def test_imports_new_files_and_moves_them_to_done_or_failed(self) -> None:
        stack = self.drop("azure_stack", "ams-1", "azure_stack.json")
        self.drop("azure_stack", "ams-1", "cloudstack.json", name="broken.json")
        (stack / ".incoming.json").write_text("{")
        zone = self.drop("cloudstack", "zone-1", "cloudstack.json")
        (self.root / "openstack" / "r1").mkdir(parents=True)

        counts = usage_collect(now=NOW)

        self.assertEqual(
            counts,
            {"regions": 2, "files": 3, "imported": 2, "failed": 1, "errors": 0, "events": 6},
        )
        self.assertEqual(
            list(CollectionRegion.objects.values_list("platform", "region", "last_collected_at")),
            [("azure_stack", "ams-1", NOW), ("cloudstack", "zone-1", NOW)],
        )
        self.assertEqual(
            sorted(p.name for p in stack.iterdir()), [".incoming.json", "done", "failed"]
        )
        self.assertEqual([p.name for p in (stack / "done").iterdir()], ["azure_stack.json"])
        self.assertEqual(
            sorted(p.name for p in (stack / "failed").iterdir()),
            ["broken.json", "broken.json.reason.txt"],
        )
        self.assertIn(
            "Not a usage aggregates answer",
            (stack / "failed" / "broken.json.reason.txt").read_text(),
        )
        self.assertEqual([p.name for p in (zone / "done").iterdir()], ["cloudstack.json"])
        failed = UsageImport.objects.get(file_name="broken.json")
        self.assertEqual((failed.status, failed.region), (ImportStatus.FAILED, "ams-1"))
        self.assertEqual(
            set(UsageEvent.objects.values_list("region", flat=True)), {"ams-1", "zone-1"}
        )

        # Nothing new: nothing happens. The same file again: all duplicates, kept beside the first.
        self.assertEqual(usage_collect(now=NOW)["files"], 0)
        self.drop("azure_stack", "ams-1", "azure_stack.json")
        later = datetime(2026, 6, 1, 10, 7, tzinfo=UTC)
        self.assertEqual(usage_collect(now=later)["events"], 0)
        self.assertEqual(
            sorted(p.name for p in (stack / "done").iterdir()),
            ["azure_stack.20260601T100700.json", "azure_stack.json"],
        )
        self.assertEqual(UsageEvent.objects.count(), 6)  # fmt: skip

    def test_disabled_regions_wait_and_named_regions_alone_are_collected(self) -> None:
        stack = self.drop("azure_stack", "ams-1", "azure_stack.json")
        zone = self.drop("cloudstack", "zone-1", "cloudstack.json")
        CollectionRegion.objects.create(platform="azure_stack", region="ams-1", enabled=False)
        usage_collect(now=NOW)
        self.assertTrue((stack / "azure_stack.json").exists())
        self.assertFalse((zone / "cloudstack.json").exists())
        CollectionRegion.objects.filter(region="ams-1").update(enabled=True)
        self.drop("cloudstack", "zone-1", "cloudstack.json")
        usage_collect(region_ids=[CollectionRegion.objects.get(region="ams-1").pk], now=NOW)
        self.assertFalse((stack / "azure_stack.json").exists())
        self.assertTrue((zone / "cloudstack.json").exists())

    def test_a_file_that_stops_the_import_stays_for_the_next_run(self) -> None:
        stack = self.drop("azure_stack", "ams-1", "azure_stack.json")
        self.drop("azure_stack", "ams-1", "azure_stack.json", name="second.json")
        calls = []

        def flaky(**kwargs: Any) -> IngestResult:
            calls.append(kwargs)
            if len(calls) == 1:
                raise RuntimeError("database gone")
            return events_ingest(**kwargs)

        with mock.patch("metering.imports.runner.events_ingest", side_effect=flaky):
            counts = usage_collect(now=NOW)
        self.assertEqual((counts["errors"], counts["imported"]), (1, 1))
        self.assertTrue((stack / "azure_stack.json").exists())
        stopped = UsageImport.objects.get(file_name="azure_stack.json")
        self.assertEqual(stopped.status, ImportStatus.FAILED)
        self.assertIn("database gone", stopped.failure)

    def test_the_task_runs_as_a_recorded_job(self) -> None:
        self.drop("cloudstack", "zone-1", "cloudstack.json")
        collect_usage()
        run = JobRun.objects.get(name=COLLECT_JOB)
        self.assertEqual((run.status, run.counts["imported"], run.counts["events"]), ("ok", 1, 3))


class CollectNowAdminTests(ImportTestCase):
    def test_collect_now_queues_the_selected_regions(self) -> None:
        admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
        first = CollectionRegion.objects.create(platform="azure_stack", region="ams-1")
        CollectionRegion.objects.create(platform="cloudstack", region="zone-1")
        self.login(admin)
        with mock.patch("metering.admin.collect_usage") as task:
            response = self.client.post(
                reverse("admin:metering_collectionregion_changelist"),
                {"action": "collect_now", "_selected_action": [first.pk]},
                follow=True,
            )
        task.delay_on_commit.assert_called_once_with(region_ids=[first.pk])
        self.assertContains(response, "Collection queued for 1 region(s)")
        self.assertContains(response, reverse("metering_imports:list"))
        imports = self.client.get(reverse("admin:metering_usageimport_changelist"))
        self.assertEqual(imports.status_code, 200)

    def test_members_do_not_get_in(self) -> None:
        self.login(self.owner)
        response = self.client.get(reverse("admin:metering_collectionregion_changelist"))
        self.assertEqual(response.status_code, 302)
