"""In Debian's chromium: sign in through the form and switch the current account in the header."""

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
