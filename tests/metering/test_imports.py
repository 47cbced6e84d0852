"""Each platform importer on its sample file: the exact usage events, idempotent re-imports,
bad records reported with their reasons and skipped, unreadable files failed as a whole."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from django.test import override_settings

from accounts.models import Account
from metering.imports import samples
from metering.imports.runner import ERR_NO_ROOT, ImportFailed, usage_import
from metering.imports.samples import sample_meter_maps_create
from metering.models import (
    AccountBilling,
    ImportStatus,
    PlatformMeterMap,
    UsageEvent,
    UsageImport,
)
from tests.base import BillingTestCase
from tests.factories import MeterFactory, PricePlanFactory, SubscriptionFactory

SAMPLES = Path(__file__).parent / "samples"
CLOUDSTACK_OFFERING = "8f7e6d5c-4b3a-4291-8e7d-6c5b4a392817"


def day(d: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 5, d, hour, minute, second, tzinfo=UTC)


def stored() -> list[tuple]:
    return list(
        UsageEvent.objects.filter(type="usage")
        .order_by("occurred_at", "meter", "asset")
        .values_list(
            "meter",
            "quantity",
            "occurred_at",
            "ends_at",
            "asset",
            "subscription",
            "region",
            "service",
            "cost",
        )
    )


class ImportTestCase(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        MeterFactory(code="cpu_hours", unit="vCPU-hour", aggregation="sum")
        MeterFactory(code="memory_gb_hours", unit="GB-hour", aggregation="sum")
        MeterFactory(code="storage_gb", unit="GB", aggregation="average")
        MeterFactory(code="bandwidth_gb", unit="GB", aggregation="sum")
        sample_meter_maps_create()
        PlatformMeterMap.objects.create(
            platform="cloudstack",
            external_id=f"1:{CLOUDSTACK_OFFERING}",
            meter_id=MeterFactory(code="cpu_hours").pk,
            factor=Decimal(2),
        )

    def run_import(self, platform: str, name: str, region: str = "") -> UsageImport:
        return usage_import(platform=platform, path=SAMPLES / name, region=region)


class AzureStackTests(ImportTestCase):
    def test_sample_becomes_usage_events(self) -> None:
        record = self.run_import("azure_stack", "azure_stack.json")
        self.assertEqual(
            (record.status, record.records_total, record.records, record.events),
            (ImportStatus.OK, 4, 4, 3),
        )
        self.assertEqual((record.accepted, record.duplicates, record.rejected), (3, 0, 1))
        self.assertEqual(record.errors[0]["record"], 4)
        self.assertIn(
            "No meter is mapped for Azure Stack F271A8A388C44D93956A063E1D2FA80B",
            record.errors[0]["reason"],
        )
        web = "/subscriptions/8d2f6a4e-1b3c-4d5e-8f70-9a1b2c3d4e5f/resourceGroups/rg-web/providers"
        sql = "/subscriptions/3f9e7d2c-6a5b-4c3d-9e8f-1a2b3c4d5e6f/resourceGroups/rg-sql/providers"
        self.assertEqual(
            stored(),
            [
                # Windows VM size hours (meter id in lower case): a day of 4 vCPUs.
                ("cpu_hours", Decimal("96.000000"), day(1), day(2),
                 f"{sql}/Microsoft.Compute/virtualMachines/sql01",
                 "3f9e7d2c-6a5b-4c3d-9e8f-1a2b3c4d5e6f", "local", "Standard_D4_v2", None),
                ("cpu_hours", Decimal("2.000000"), day(1, 10), day(1, 11),
                 f"{web}/Microsoft.Compute/virtualMachines/web01",
                 "8d2f6a4e-1b3c-4d5e-8f70-9a1b2c3d4e5f", "local", "Standard_D2_v2", None),
                # GB x hours over one hour into a GB (average) meter: the level.
                ("storage_gb", Decimal("127.500000"), day(1, 10), day(1, 11),
                 f"{web}/Microsoft.Storage/storageAccounts/webdisks",
                 "8d2f6a4e-1b3c-4d5e-8f70-9a1b2c3d4e5f", "local", "", None),
            ],
        )  # fmt: skip
        event = UsageEvent.objects.get(meter="storage_gb")
        self.assertEqual(
            (event.account_id, event.source, event.description),
            (self.platform.pk, "Microsoft.Storage/storageAccounts", "webdisks"),
        )

    def test_region_given_wins_over_the_location(self) -> None:
        self.run_import("azure_stack", "azure_stack.json", region="ams-stack-1")
        self.assertEqual(set(UsageEvent.objects.values_list("region", flat=True)), {"ams-stack-1"})

    def test_importing_twice_adds_nothing(self) -> None:
        self.run_import("azure_stack", "azure_stack.json")
        again = self.run_import("azure_stack", "azure_stack.json")
        self.assertEqual((again.events, again.accepted, again.duplicates), (3, 0, 3))
        self.assertEqual(UsageEvent.objects.count(), 3)

    def test_daily_level_is_the_average_over_the_window(self) -> None:
        storage = PlatformMeterMap.objects.get(
            external_id__iexact="B5C15376-6C94-4FDD-B655-1A69D138ACA3"
        )
        storage.external_id = "9CD92D4C-BAFD-4492-B278-BEDC2DE8232A"
        PlatformMeterMap.objects.filter(external_id="9CD92D4C-BAFD-4492-B278-BEDC2DE8232A").delete()
        storage.save()
        self.run_import("azure_stack", "azure_stack.json")
        # 96 vCPU-hours over a 24-hour window into the average meter: 4.
        self.assertEqual(UsageEvent.objects.get(asset__endswith="sql01").quantity, Decimal(4))

    def test_bad_records_are_reported_and_skipped(self) -> None:
        record = self.run_import("azure_stack", "azure_stack_bad.json")
        self.assertEqual((record.status, record.records, record.accepted), (ImportStatus.OK, 6, 1))
        self.assertEqual(
            [(e["record"], e["reason"]) for e in record.errors],
            [
                (2, "instanceData must be JSON naming Microsoft.Resources with a resourceUri."),
                (3, "quantity must be a number of at least 0; got '-2.0'."),
                (4, "usageEndTime must be after usageStartTime."),
                (
                    5,
                    "start: Must not be more than 5 minutes in the future. "
                    "end: Must not be more than 5 minutes in the future.",
                ),
                (6, "Not a usage aggregate: it has no properties object."),
            ],
        )
        self.assertEqual(record.rejected, 5)

    def test_a_file_that_is_not_json_fails_as_a_whole(self) -> None:
        record = self.run_import("azure_stack", "azure_local.csv")
        self.assertEqual(record.status, ImportStatus.FAILED)
        self.assertTrue(record.failure.startswith("The file is not JSON"))
        self.assertIsNotNone(record.finished_at)
        self.assertEqual(UsageEvent.objects.count(), 0)


class AzureLocalTests(ImportTestCase):
    def test_snapshots_become_vcpu_memory_and_storage(self) -> None:
        record = self.run_import("azure_local", "azure_local.csv")
        self.assertEqual(
            (record.records, record.events, record.accepted, record.rejected), (4, 6, 6, 0)
        )
        vm = (
            "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg-apps/providers/"
            "Microsoft.HybridCompute/machines/app01/providers/Microsoft.AzureStackHCI/"
            "virtualMachineInstances/default"
        )
        disk = (
            "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg-apps/providers/"
            "Microsoft.AzureStackHCI/virtualHardDisks/app01-data"
        )
        where = ("local-tenant-01", "hci-ams-01")
        expected = []
        for hour in (10, 11):
            window = (day(1, hour), day(1, hour + 1))
            expected += [
                ("cpu_hours", Decimal("4.000000"), *window, vm, *where, "vcpu", None),
                ("memory_gb_hours", Decimal("16.000000"), *window, vm, *where, "memory", None),
                ("storage_gb", Decimal("256.000000"), *window, disk, *where, "storage", None),
            ]
        self.assertEqual(stored(), expected)

    def test_bad_rows_are_reported_and_skipped(self) -> None:
        record = self.run_import("azure_local", "azure_local_bad.csv")
        self.assertEqual((record.records, record.accepted, record.rejected), (6, 2, 5))
        self.assertEqual(
            [(e["record"], e["reason"]) for e in record.errors],
            [
                (2, "snapshot_time must be a date and time; got 'yesterday'."),
                (3, "vcpu_count must be a number of at least 0; got 'four'."),
                (4, "resource_type must be Microsoft.AzureStackHCI/virtualMachineInstances or "
                    "Microsoft.AzureStackHCI/virtualHardDisks; got "
                    "'Microsoft.AzureStackHCI/logicalNetworks'."),
                (5, "resource_id is missing."),
                (6, "interval_minutes must be a whole number from 1 to 1440."),
            ],
        )  # fmt: skip
        # A 30-minute snapshot of 2 vCPUs and 8 GB.
        self.assertEqual(
            sorted(UsageEvent.objects.values_list("meter", "quantity", "ends_at")),
            [
                ("cpu_hours", Decimal(1), day(1, 12, 30)),
                ("memory_gb_hours", Decimal(4), day(1, 12, 30)),
            ],
        )

    def test_a_snapshot_without_the_columns_fails_as_a_whole(self) -> None:
        record = self.run_import("azure_local", "public_azure.csv")
        self.assertEqual(record.status, ImportStatus.FAILED)
        self.assertIn("lacks the column(s) snapshot_time, cluster", record.failure)


class PublicAzureTests(ImportTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        SubscriptionFactory(external_id="paz-tenant-1", platform="public_azure", account=cls.tenant)
        SubscriptionFactory(external_id="paz-tenant-2", platform="public_azure", account=cls.tenant)
        # Same external id on another platform: the tag names Public Azure subscriptions only.
        SubscriptionFactory(external_id="paz-unknown", platform="azure_stack", account=cls.tenant)

    def test_cost_rows_map_to_our_subscriptions_by_tag(self) -> None:
        record = self.run_import("public_azure", "public_azure.csv")
        self.assertEqual(
            (record.records, record.events, record.accepted, record.rejected), (4, 3, 3, 1)
        )
        self.assertEqual(record.errors[0]["record"], 4)
        self.assertIn("has no cms-subscription tag", record.errors[0]["reason"])
        rg = "/subscriptions/6e2f4c1a-8b3d-4e5f-9a0b-1c2d3e4f5a6b/resourcegroups"
        self.assertEqual(
            stored(),
            [
                ("bandwidth_gb", Decimal("12.500000"), day(1), day(2),
                 f"{rg}/rg-tenant-two/providers/microsoft.network/publicipaddresses/t2-gw-ip",
                 "paz-tenant-2", "northeurope", "Inter-Region", Decimal("0.987500")),
                ("cpu_hours", Decimal("24.000000"), day(1), day(2),
                 f"{rg}/rg-tenant-one/providers/microsoft.compute/virtualmachines/t1-web01",
                 "paz-tenant-1", "westeurope", "Dsv3 Series", Decimal("2.112000")),
                # Quantity and cost rounded half up to 6 decimals.
                ("storage_gb", Decimal("0.032258"), day(1), day(2),
                 f"{rg}/rg-tenant-one/providers/microsoft.compute/disks/t1-web01-os",
                 "paz-tenant-1", "westeurope", "Premium SSD Managed Disks", Decimal("0.635806")),
            ],
        )  # fmt: skip
        self.assertEqual(UsageEvent.objects.get(meter="cpu_hours").description, "D2s v3 (1 Hour)")

    @override_settings(PUBLIC_AZURE_SUBSCRIPTION_TAG="env")
    def test_the_tag_key_is_a_setting(self) -> None:
        SubscriptionFactory(external_id="prod", platform="public_azure", account=self.tenant)
        record = self.run_import("public_azure", "public_azure.csv")
        self.assertEqual((record.accepted, record.rejected), (2, 2))
        self.assertEqual(set(UsageEvent.objects.values_list("subscription", flat=True)), {"prod"})

    def test_bad_rows_are_reported_and_skipped(self) -> None:
        # The tenant has no plan of its own: its parent's plan (EUR) bills it.
        AccountBilling.objects.create(
            account=self.account, price_plan=PricePlanFactory(currency="EUR")
        )
        record = self.run_import("public_azure", "public_azure_bad.csv")
        self.assertEqual((record.records, record.accepted, record.rejected), (7, 1, 6))
        self.assertEqual(
            [(e["record"], e["reason"]) for e in record.errors],
            [
                (2, "Date must be MM/DD/YYYY or YYYY-MM-DD; got '2026-13-45'."),
                (3, "CostInBillingCurrency must be a number of at least 0; got '-2.112'."),
                (4, "The cms-subscription tag names 'paz-unknown', which is no Public Azure "
                    "subscription of ours."),
                (5, "The cost is in USD but subscription paz-tenant-1 is billed in EUR."),
                (6, "No meter is mapped for Public Azure Azure Firewall (add it to the platform "
                    "meter map)."),
                (7, "Tags must be a JSON object of tag names and values."),
            ],
        )  # fmt: skip


class CloudStackTests(ImportTestCase):
    def test_usage_records_priced_through_offering_and_type(self) -> None:
        record = self.run_import("cloudstack", "cloudstack.json")
        self.assertEqual(
            (record.records, record.events, record.accepted, record.rejected), (4, 3, 3, 1)
        )
        self.assertEqual(
            record.errors,
            [
                {
                    "record": 4,
                    "reason": "No meter is mapped for CloudStack 3 (add it to the platform meter "
                    "map).",
                }
            ],
        )
        account = "c7a3e1b2-5d4f-4a6b-8c9d-0e1f2a3b4c5d"
        zone = "4b5c6d7e-8f90-4a1b-2c3d-4e5f6a7b8c9d"
        self.assertEqual(
            stored(),
            [
                # 5 GiB sent.
                ("bandwidth_gb", Decimal("5.000000"), day(1), day(2),
                 "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", account, zone, "NETWORK_BYTES_SENT", None),
                # 24 running hours of a 2-vCPU offering (factor 2).
                # CloudStack's inclusive 23:59:59 ends the day.
                ("cpu_hours", Decimal("48.000000"), day(1), day(2),
                 "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", account, zone, "RUNNING_VM", None),
                # A 100 GiB volume all day into the GB (average) meter.
                ("storage_gb", Decimal("100.000000"), day(1), day(2),
                 "6c5d4e3f-2a1b-4c0d-9e8f-7a6b5c4d3e2f", account, zone, "VOLUME", None),
            ],
        )  # fmt: skip

    def test_bad_records_are_reported_and_skipped(self) -> None:
        record = self.run_import("cloudstack", "cloudstack_bad.json")
        self.assertEqual((record.records, record.accepted, record.rejected), (5, 1, 4))
        self.assertEqual(
            [(e["record"], e["reason"]) for e in record.errors],
            [
                (2, "usagetype must be a CloudStack usage type number; got 99."),
                (3, "rawusage must be a number of at least 0; got 'lots'."),
                (4, "enddate must not be before startdate."),
                (5, f"No meter is mapped for CloudStack 2:{CLOUDSTACK_OFFERING} or 2 (add it to "
                    "the platform meter map)."),
            ],
        )  # fmt: skip
        self.assertEqual(UsageEvent.objects.get().quantity, Decimal(25))


class ImportFailureTests(ImportTestCase):
    def test_without_a_platform_account_nothing_is_imported(self) -> None:
        Account.objects.filter(pk=self.platform.pk).update(kind="distributor")
        with self.assertRaisesMessage(ImportFailed, ERR_NO_ROOT):
            self.run_import("cloudstack", "cloudstack.json")
        self.assertFalse(UsageImport.objects.exists())

    def test_an_unknown_platform_is_refused(self) -> None:
        with self.assertRaisesMessage(ImportFailed, "Unknown platform 'openstack'"):
            self.run_import("openstack", "cloudstack.json")

    def test_a_file_that_is_not_utf8_fails(self) -> None:
        path = Path(self.enterContext(TemporaryDirectory())) / "x.json"
        path.write_bytes(b'{"value": ["\xff"]}')
        record = usage_import(platform="azure_stack", path=path)
        self.assertEqual(
            (record.status, record.failure), (ImportStatus.FAILED, "The file is not UTF-8 text.")
        )


class SampleFilesTests(ImportTestCase):
    """The generator the demo uses writes files every importer takes whole."""

    def test_generated_files_import_without_rejections(self) -> None:

        for platform in ("azure_stack", "azure_local", "public_azure", "cloudstack"):
            SubscriptionFactory(external_id=f"{platform}-1", platform=platform, account=self.tenant)
        folder = Path(self.enterContext(TemporaryDirectory()))
        start, end = datetime(2026, 5, 30).date(), datetime(2026, 6, 1).date()
        expected = {
            # records written, events: per VM and day
            "azure_stack": (samples.azure_stack_write, 2 * 2 * 3, 2 * 2 * 3),
            "azure_local": (samples.azure_local_write, 2 * 2 * 48, 2 * 2 * 72),
            "public_azure": (samples.public_azure_write, 2 * 2 * 3, 2 * 2 * 3),
            "cloudstack": (samples.cloudstack_write, 2 * 2 * 3, 2 * 2 * 3),
        }
        for platform, (write, records, events) in expected.items():
            with self.subTest(platform=platform):
                vms = [
                    samples.SampleVm(f"{platform}-1", "vm-a", vcpus=2),
                    samples.SampleVm(f"{platform}-1", "vm-b", vcpus=4, windows=True),
                ]
                path = folder / platform
                self.assertEqual(write(path, vms, start, end), records)
                record = usage_import(platform=platform, path=path)
                self.assertEqual(
                    (
                        record.status,
                        record.records,
                        record.events,
                        record.accepted,
                        record.rejected,
                    ),
                    (ImportStatus.OK, records, events, events, 0),
                )
        # Azure Local: a VM's 4 vCPUs for 48 hourly snapshots.
        self.assertEqual(
            sum(
                UsageEvent.objects.filter(
                    meter="cpu_hours", subscription="azure_local-1", description="vm-b"
                ).values_list("quantity", flat=True)
            ),
            Decimal(4 * 48),
        )

    def test_daily_azure_local_snapshots(self) -> None:

        path = Path(self.enterContext(TemporaryDirectory())) / "daily.csv"
        vm = samples.SampleVm("local-1", "vm-a", vcpus=2, memory_gb=8, disk_gb=100)
        start, end = datetime(2026, 5, 1).date(), datetime(2026, 5, 3).date()
        self.assertEqual(
            samples.azure_local_write(path, [vm], start, end, interval_minutes=1440), 4
        )
        usage_import(platform="azure_local", path=path)
        self.assertEqual(
            sorted(UsageEvent.objects.filter(occurred_at=day(1)).values_list("meter", "quantity")),
            [
                ("cpu_hours", Decimal(48)),
                ("memory_gb_hours", Decimal(192)),
                ("storage_gb", Decimal(100)),
            ],
        )
