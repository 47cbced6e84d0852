"""The statement panel in a real Chromium: switch license, month and chart type, download the
PDF. Set SCREENSHOT_DIR to keep the screenshots it takes."""

import os
from datetime import date
from pathlib import Path

import pytest

from accounts.models import Role
from statements.models import Statement
from statements.services.chart_cache import statement_charts_refresh
from statements.services.close import statements_close
from statements.services.credits import credit_add
from statements.services.poll import statements_poll
from tests.factories import AccountFactory, LicenseFactory, MembershipFactory, UserFactory
from tests.statements.factories import at, catalog, ingest, session

IN_MAY = at("2026-05-20 12:00")


def build_world() -> tuple[object, object]:
    catalog(
        {"c5.xlarge": "1.000000", "g4dn.xlarge": "0.526000"},
        {"standard": "0.500000"},
        {"g4dn.xlarge": {"eu-west": "0.612000"}},
    )
    account = AccountFactory(name="Contoso Rendering")
    MembershipFactory(user=UserFactory(username="owner"), account=account, role=Role.OWNER)
    farm = LicenseFactory(account=account, name="Farm", created_at=at("2026-04-01"))
    preview = LicenseFactory(account=account, name="Preview", created_at=at("2026-04-01"))
    events = []
    for n in range(40):
        day = 2 + n % 18
        license = farm if n % 3 else preview
        events.append(
            session(
                license,
                f"s{n}",
                f"2026-{4 + n % 2:02d}-{day:02d} {8 + n % 9:02d}:15",
                900 + 97 * n,
                machine_type="g4dn.xlarge" if n % 4 == 0 else "c5.xlarge",
                region="eu-west" if n % 5 == 0 else "us-east",
                pool=["render", "sim", "preview"][n % 3],
            )
        )
    ingest(events, now=IN_MAY)
    credit_add(
        actor=None,
        license=farm,
        amount="75.00",
        credited_at=at("2026-04-03 09:00"),
        invoice_number="INV-2026-0001",
        invoice_date=date(2026, 4, 1),
        now=IN_MAY,
    )
    statements_poll(now=IN_MAY)
    statements_close(through=date(2026, 4, 1), now=IN_MAY)
    # What a worker does after each poll: the pages only read the chart cache.
    statement_charts_refresh(statement_ids=Statement.objects.values_list("id", flat=True))
    return farm, preview


@pytest.mark.browser
def test_switch_license_month_and_charts_then_download_the_pdf(
    transactional_db: None, live_server: object, page: object, login: object, tmp_path: Path
) -> None:
    farm, preview = build_world()
    shots = Path(os.environ.get("SCREENSHOT_DIR", tmp_path))
    console = []
    page.on("console", lambda message: console.append(message.text))
    login("owner")
    page.goto(f"{live_server.url}/statements/")
    assert page.locator("h1").inner_text() == "Statement · May 2026"
    assert "Farm" in page.locator("h1 + div").inner_text()

    page.select_option("#license-select", str(preview.uuid))
    page.wait_for_url(f"**license={preview.uuid}**")
    assert "Preview" in page.locator("h1 + div").inner_text()

    page.select_option("#license-select", str(farm.uuid))
    page.wait_for_url(f"**license={farm.uuid}**")
    page.select_option("#month-select", "2026-04")
    page.wait_for_url("**month=2026-04**")
    assert page.locator("h1").inner_text() == "Statement · April 2026"
    assert page.locator("#balance").inner_text() == page.locator("#summary dd").last.inner_text()
    assert "Closed" in page.locator(".balance-card").inner_text()
    # Another license keeps the chosen month.
    page.select_option("#license-select", str(preview.uuid))
    page.wait_for_url(f"**license={preview.uuid}**")
    assert "month=2026-04" in page.url
    assert page.locator("h1").inner_text() == "Statement · April 2026"
    page.select_option("#license-select", str(farm.uuid))
    page.wait_for_url(f"**license={farm.uuid}**")

    pie = page.locator("#pie-chart")
    pie.locator(".main-svg").first.wait_for()
    assert pie.locator(".legend").text_content() == "previewsim"
    page.select_option("#pie-select", "region")
    page.wait_for_function(
        "document.querySelector('#pie-chart .legend').textContent.includes('eu-west')"
    )
    hourly = page.locator("#hourly-chart")
    page.select_option("#metric-select", "machines")
    page.wait_for_function(
        "document.querySelector('#hourly-chart .ytitle').textContent === 'machines'"
    )
    assert hourly.locator(".bars path").count() > 0
    assert "pie=region" in page.url and "metric=machines" in page.url
    # The charts draw under the site's Content-Security-Policy without tripping it.
    assert [text for text in console if "Content Security Policy" in text] == []
    page.screenshot(path=str(shots / "statement-panel.png"), full_page=True)

    page.click("#download-menu")
    with page.expect_download() as info:
        page.click("#download-pdf")
    download = info.value
    assert download.suggested_filename == "farm-2026-04-statement.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF-")

    for name in ("balances", "transactions"):
        page.goto(f"{live_server.url}/{name}/")
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    page.goto(f"{live_server.url}/balances/")
    page.fill("#balance-search", "Preview")
    assert page.locator("#balances tbody tr:visible").count() == 2
    assert page.locator("#balance-search-empty").is_hidden()
    page.fill("#balance-search", "no such license")
    assert page.locator("#balances tbody tr:visible").count() == 0
    assert page.locator("#balance-search-empty").is_visible()
    page.screenshot(path=str(shots / "balances-search-empty.png"), full_page=True)
