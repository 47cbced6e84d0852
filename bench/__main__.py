"""Run the benchmarks: `bench/run [--quick] [--only NAME ...]`.

Uses its own PostgreSQL database (BENCH_DATABASE_URL, default billing_bench on localhost),
migrated from scratch on each run, and writes bench/results/latest.json plus a Markdown table
on stdout that goes into docs/benchmarks.md.
"""

import argparse
import importlib
import json
import os
import pkgutil
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run")
    parser.add_argument("--quick", action="store_true", help="small data, to check it works")
    parser.add_argument("--only", nargs="*", default=[], help="module names, e.g. statements")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_site.settings.local")
    # Polls queue chart refreshes for a worker. None runs here, and the demo's broker must not
    # receive ids of statements in the bench database.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing_bench"
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.harness import Context

    _recreate_database(connection)
    call_command("migrate", verbosity=0)

    names = sorted(
        m.name[len("bench_") :]
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    chosen = [n for n in names if not args.only or n in args.only]
    ctx = Context(full=not args.quick)
    results = []
    for name in chosen:
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.bench_{name}")
        for result in module.run(ctx):
            results.append(result)
            print(_row(result), file=sys.stderr, flush=True)

    RESULTS.mkdir(exist_ok=True)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "full_scale": ctx.full,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "postgres": connection.cursor().connection.info.server_version,
        "results": [r.as_dict() for r in results],
    }
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    print(_markdown(report))
    return 0 if all(r.passed for r in results) else 1


def _recreate_database(connection: object) -> None:
    """Start from an empty database so every run generates the same data."""
    name = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:,.0f} {unit}"


def _row(r: object) -> str:
    ratio = f"{r.ratio:.2f}" if r.ratio is not None else "—"
    verdict = "PASS" if r.passed else "MISS"
    return (
        f"  {r.name}: ours {_fmt(r.ours, r.unit)}, raw {_fmt(r.raw, r.unit)}, "
        f"ratio {ratio} ({r.target}) {verdict}"
    )


def _markdown(report: dict) -> str:
    lines = [
        f"Measured {report['when']} on {report['machine']}, PostgreSQL {report['postgres']}"
        + ("" if report["full_scale"] else " (quick run, small data)."),
        "",
        "| benchmark | scale | ours | raw PostgreSQL | ours/raw | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}"
        lines.append(
            f"| {r['name']} | {r['scale']} | {_fmt(r['ours'], r['unit'])} | "
            f"{_fmt(r['raw'], r['unit'])} | {ratio} | {r['target']} | "
            f"{'pass' if r['passed'] else '**miss**'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
