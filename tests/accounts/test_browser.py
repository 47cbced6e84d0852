"""In Debian's chromium: sign in through the form and switch the current account in the header."""

import pytest

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

    table = page.locator("main table tbody")
    assert page.url == f"{live_server.url}/"
    assert table.locator("tr td:first-child").all_inner_texts() == ["Alpha Site", "Alpha Works"]
    assert page.locator("footer").inner_text().startswith("Viewing Alpha Works")
    switcher = page.locator("#account-select")
    assert [t.strip() for t in switcher.locator("option").all_inner_texts()] == [
        "Alpha Works",
        "Alpha Site",
        "Beta Works",
        "Beta Site",
    ]

    with page.expect_navigation():
        switcher.select_option(label="Beta Works")

    assert page.url == f"{live_server.url}/"
    assert table.locator("tr td:first-child").all_inner_texts() == ["Beta Site", "Beta Works"]
    assert page.locator("footer").inner_text().startswith("Viewing Beta Works")
    assert page.locator("#account-select option:checked").inner_text() == "Beta Works"
    assert page.get_by_text("Alpha Site").count() == 1  # only in the switcher now
    assert page.get_by_text("Gamma Hidden").count() == 0
