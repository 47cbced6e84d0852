"""Usage event batches for fuzzing POST /api/v1/events. Its schema only says "a list of
objects", so generating from it alone never sends an event of a real type; these are valid
events of every type in which one field is swapped for an awkward value (a wrong type, a lone
surrogate, NUL, a huge integer, a timestamp at the edge of the calendar, nested JSON)."""

from typing import Any

from hypothesis import strategies as st

# The values most likely to break a parser come first: Hypothesis favours the front of a list.
AWKWARD = st.sampled_from(
    [
        "\ud800",
        ["x"],
        2**63,
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        {"a": {"b": 1}},
        10**30,
        "a\x00b",
        "x" * 300,
        "2026-02-30T00:00:00Z",
        "2026-05-01T12:00:00",
        None,
        True,
        -1,
        1.5,
        "",
        "1e5",
        "0.0000001",
    ]
)


def templates(license: str, account: str, campaign: str) -> list[dict[str, Any]]:
    """One valid event of each type."""
    return [
        {
            "event_id": "fuzz-session",
            "type": "machine_session",
            "license": license,
            "start": "2026-05-01T12:00:00Z",
            "duration_seconds": 3600,
            "machine_id": "m-1",
            "machine_type": "c5.xlarge",
            "region": "us-east",
            "pool": "render",
            "license_type": "standard",
        },
        {
            "event_id": "fuzz-connection",
            "type": "device_connection",
            "account": account,
            "device_id": "d-1",
            "endpoint_name": "ep-1",
            "timestamp": "2026-05-01T12:00:00Z",
        },
        {
            "event_id": "fuzz-update",
            "type": "firmware_update",
            "account": account,
            "device_id": "d-1",
            "endpoint_name": "ep-1",
            "campaign": campaign,
            "timestamp": "2026-05-01T12:00:00Z",
        },
        {
            "event_id": "fuzz-call",
            "type": "api_call",
            "account": account,
            "category": "integration",
            "event": "/v3/devices",
            "count": 2,
            "timestamp": "2026-05-01T12:00:00Z",
        },
        {
            "event_id": "fuzz-usage",
            "type": "usage",
            "account": account,
            "meter": "cpu_hours",
            "quantity": "1.5",
            "start": "2026-05-01T12:00:00Z",
            "end": "2026-05-01T13:00:00Z",
            "asset": "vm-1",
            "subscription": "sub-1",
            "client": account,
            "region": "west",
            "service": "compute",
            "source": "azure_stack",
            "description": "A VM",
            "cost": "0.25",
        },
    ]


def awkward_event(template: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The event with one of its fields (or a field it does not have) set to an awkward value."""
    field = st.sampled_from([*template, "attributes"])
    return st.tuples(field, AWKWARD).map(lambda change: {**template, change[0]: change[1]})


def event_batches(license: str, account: str, campaign: str) -> st.SearchStrategy[dict]:
    events = st.one_of([awkward_event(t) for t in templates(license, account, campaign)])
    return st.lists(events, min_size=1, max_size=3).map(lambda batch: {"events": batch})
