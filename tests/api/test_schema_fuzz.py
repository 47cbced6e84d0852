"""Every operation of the API's own OpenAPI schema, loaded from /api/schema/ through the WSGI
app and fuzzed by schemathesis with an API key of each kind: no answer is a 5xx, and every
answer is one the schema documents (status code, content type, headers and body).

Deterministic: Hypothesis runs from a fixed seed, each operation gets a fixed number of
examples (valid for the schema or not), and every request is rolled back, so each one meets
the same world."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode

from billing_site.wsgi import application

from .fuzz_events import event_batches
from .fuzz_world import CALLERS, FuzzWorld, fuzz_world

EXAMPLES = 15
SEED = 20261201
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


@pytest.fixture
def connection_kept() -> Iterator[None]:
    """Django's WSGI handler closes the database connection before and after each request,
    and the test's transaction lives on it; Django's test client keeps it the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def examples_independent_of_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis mixes constants from the project's imported modules into what it draws, and
    which modules are imported depends on the tests that ran before in the same worker; the
    examples would change with the order of the suite. (Hypothesis has no setting for it.)"""
    monkeypatch.setattr(providers, "_get_local_constants", Constants)


def known_or_generated(known: dict[str, list[str]]) -> Callable[[Any, Any], Any]:
    """A hook that sends, for each parameter or body field with known ids, one of those ids
    or the generated value: random ids alone would stop nearly every request at a 404."""

    def flatmap(context: Any, values: Any) -> Any:
        if not isinstance(values, dict) or not values.keys() & known.keys():
            return st.just(values)
        return st.fixed_dictionaries(
            {name: st.sampled_from([value, *known.get(name, [])]) for name, value in values.items()}
        )

    return flatmap


def api_schema(world: FuzzWorld, key: str) -> BaseSchema:
    headers = {"Authorization": f"Bearer {key}"}
    config = schemathesis.Config.from_dict(
        {
            "headers": headers,
            "generation": {"with-security-parameters": False},
            # Same reason as examples_independent_of_imports, for schemathesis's own pool.
            "analysis": {"constants": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", application, config=config, headers=headers
    )
    known = known_or_generated(world.ids)
    batches = event_batches(
        world.ids["license"][0], world.ids["account"][0], world.ids["campaign_id"][0]
    )

    def body(context: Any, value: Any) -> Any:
        # The events schema only says "a list of objects": what it generates is refused whole
        # before any event is read, which the ingest tests cover.
        if context.operation.path == "/api/v1/events":
            return batches
        return known(context, value)

    schema.hook("flatmap_path_parameters")(known)
    schema.hook("flatmap_query")(known)
    schema.hook("flatmap_body")(body)
    return schema


def fuzz(operation: APIOperation) -> None:
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        # The world is built once per caller, outside Hypothesis, on purpose.
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @seed(SEED)
    @given(case=cases)
    def send(case: Case) -> None:
        with transaction.atomic():
            try:
                response = case.call()
            finally:
                transaction.set_rollback(True)
        case.validate_response(response)

    send()


@pytest.mark.parametrize("caller", [name for name, _, _ in CALLERS])
def test_no_server_error_and_every_answer_is_documented(
    caller: str,
    db: None,
    connection_kept: None,
    examples_independent_of_imports: None,
    subtests: Any,
) -> None:
    world = fuzz_world()
    schema = api_schema(world, world.keys[caller])
    for result in schema.get_all_operations():
        operation = result.ok()
        with subtests.test(operation=operation.label):
            fuzz(operation)
