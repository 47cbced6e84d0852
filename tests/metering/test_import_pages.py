"""The Usage imports staff pages: the list with progress and summary, one import's rejected
records, the CSV; everyone but platform staff gets a 404."""

from datetime import UTC, datetime
from uuid import uuid4

from django.urls import reverse

from metering.models import UsageImport
from tests.base import BillingTestCase, csv_rows, html_tables

LIST = reverse("metering_imports:list")
STARTED = datetime(2026, 6, 1, 9, 7, tzinfo=UTC)


class UsageImportPageTests(BillingTestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.running = UsageImport.objects.create(
            platform="azure_local",
            region="ams-1",
            file_name="snapshots-0601.csv",
            records_total=400,
            records=150,
            events=220,
            accepted=220,
            started_at=STARTED,
        )
        cls.done = UsageImport.objects.create(
            platform="cloudstack",
            region="zone-1",
            file_name="usage-0531.json",
            status="ok",
            records_total=4,
            records=4,
            events=3,
            accepted=2,
            duplicates=1,
            rejected=1,
            errors=[{"record": 4, "reason": "No meter is mapped for CloudStack 3."}],
            started_at=datetime(2026, 6, 1, 8, 7, tzinfo=UTC),
            finished_at=datetime(2026, 6, 1, 8, 8, tzinfo=UTC),
        )

    def test_staff_see_every_import_with_a_bar_for_the_running_one(self) -> None:
        response = self.login(self.staff).get(LIST)
        self.assertContains(response, '<progress class="w-100" max="400" value="150">')
        rows = html_tables(response)[0]
        self.assertEqual(
            rows,
            [
                ["2026-06-01 09:07", "Azure Local", "ams-1", "snapshots-0601.csv", "Running",
                 "150 of 400150 / 400", "220", "220", "0", "0", "—"],
                ["2026-06-01 08:07", "CloudStack", "zone-1", "usage-0531.json", "Imported",
                 "4 / 4", "3", "2", "1", "1", "2026-06-01 08:08"],
            ],
        )  # fmt: skip
        self.assertContains(response, reverse("metering_imports:detail", args=[self.done.uuid]))

    def test_filters_and_csv(self) -> None:
        client = self.login(self.staff)
        rows = html_tables(client.get(f"{LIST}?platform=cloudstack&status=ok"))[0]
        self.assertEqual([r[3] for r in rows], ["usage-0531.json"])
        csv = csv_rows(client.get(f"{LIST}?export=csv&file=snapshots"))
        self.assertEqual(
            csv[0][:6], ["Started", "Platform", "Region", "File", "Status", "Records read"]
        )
        self.assertEqual(
            csv[1][1:6], ["Azure Local", "ams-1", "snapshots-0601.csv", "Running", "150/400"]
        )

    def test_bad_filters_are_form_errors(self) -> None:
        response = self.login(self.staff).get(f"{LIST}?status=exploded&platform=openstack")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Select a valid choice.")

    def test_the_detail_lists_the_rejected_records(self) -> None:
        response = self.login(self.staff).get(
            reverse("metering_imports:detail", args=[self.done.uuid])
        )
        self.assertContains(response, "No meter is mapped for CloudStack 3.")
        self.assertEqual(html_tables(response)[0][0], ["4", "No meter is mapped for CloudStack 3."])

    def test_everyone_but_staff_gets_404(self) -> None:
        detail = reverse("metering_imports:detail", args=[self.done.uuid])
        for user in (self.owner, self.teammate, self.outsider):
            with self.subTest(user=user.username):
                client = self.login(user)
                self.assertEqual(client.get(LIST).status_code, 404)
                self.assertEqual(client.get(f"{LIST}?export=csv").status_code, 404)
                self.assertEqual(client.get(detail).status_code, 404)
        unknown = reverse("metering_imports:detail", args=[uuid4()])
        self.assertEqual(self.login(self.staff).get(unknown).status_code, 404)
        self.assertEqual(self.client.get("/usage-imports/not-a-uuid/").status_code, 404)
