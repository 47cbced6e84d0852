"""In Debian's chromium: sign in through the form, switch the current account in the header, and
use the API docs under the Content-Security-Policy."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import AccountFactory, MembershipFactory, UserFactory


@pytest.mark.browser
def test_member_of_two_accounts_signs_in_and_switches_account(
    transactional_db: None, live_server: object, page: object, login: object
) -> None:
    alpha = AccountFactory(name="Alpha Works", slug="alpha-works")
    AccountFactory(name="Alpha Site", slug="alpha-site", parent=alpha)
    beta = AccountFactory(name="Beta Works", slug="beta-works")
    AccountFactory(name="Beta Site", slug="beta-site", parent=beta)
    AccountFactory(name="Gamma Hidden", slug="gamma")
    user = UserFactory(username="commuter")
    MembershipFactory(user=user, account=alpha, role=Role.OWNER)
    MembershipFactory(user=user, account=beta, role=Role.MEMBER)

    login("commuter")

    first_column = page.locator("main table tbody tr td:first-child")
    switcher = page.locator("#account-select")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(first_column).to_have_text(["Alpha Site", "Alpha Works"])
    expect(page.locator("footer")).to_contain_text("Viewing Alpha Works")
    expect(switcher.locator("option")).to_have_text(
        ["Alpha Works", "Alpha Site", "Beta Works", "Beta Site"]
    )
    expect(switcher.locator("option:checked")).to_have_text("Alpha Works")

    with page.expect_navigation():
        switcher.select_option(label="Beta Works")

    expect(page).to_have_url(f"{live_server.url}/")
    expect(first_column).to_have_text(["Beta Site", "Beta Works"])
    expect(page.locator("footer")).to_contain_text("Viewing Beta Works")
    expect(switcher.locator("option:checked")).to_have_text("Beta Works")
    expect(page.locator("main")).not_to_contain_text("Alpha")
    expect(page.locator("body")).not_to_contain_text("Gamma Hidden")


@pytest.mark.browser
def test_api_docs_run_under_the_content_security_policy_and_lead_back(
    transactional_db: None, live_server: object, page: object, login: object
) -> None:
    account = AccountFactory(name="Alpha Works", slug="alpha-works")
    MembershipFactory(user=UserFactory(username="reader"), account=account, role=Role.MEMBER)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    login("reader")

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/events")).to_be_visible()
    assert [text for text in console if "Content Security Policy" in text] == []
    page.click("text=Back to the site")
    expect(page).to_have_url(f"{live_server.url}/")
