"""The `casebot` command line. Part of `bot`.

User mistakes (bad config, missing directory, unreachable database) end with one
line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from adapters.base import AdapterConfigError
from bot.config import Config, ConfigError, load_config

EXIT_USAGE = 2


class UserError(Exception):
    """A problem the user can fix; printed as one line."""


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    args.storage_url = config.storage.url  # for naming the database if it cannot be opened
    return config


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # PTB and httpx log every request at INFO; that drowns casebot's own lines
    for noisy in ("httpx", "telegram", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ------------------------------------------------------------------ commands


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _config(args)
    from bot.wiring import staff_roles
    from storage.db import check_location

    check_location(config.storage.url)
    for warning in config.warnings():
        print(f"warning: {warning}", file=sys.stderr)
    adapters = ["telegram"] if config.telegram else []
    adapters += ["slack"] if config.slack else []
    adapters += ["feishu"] if config.feishu else []
    adapters += [bridge.name for bridge in config.bridges]
    if args.connect:
        asyncio.run(_ping_database(config.storage.url))
    print(
        f"config ok: {len(config.accounts)} account(s), "
        f"{sum(len(a.chats) for a in config.accounts)} chat(s), "
        f"{len({config.staff.key_of(k) for k in staff_roles(config)})} staff, "
        f"adapters: {', '.join(adapters) or 'none'}"
    )
    return 0


async def _ping_database(url: str) -> None:
    """Open the database and ask it one question; a failure ends in main's one line."""
    from storage.db import make_engine, make_sessions, ping

    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as session:
            await ping(session)
    finally:
        await engine.dispose()
    print("database answers")


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    _setup_logging(args.log_level)
    from bot.app import App

    asyncio.run(App(config).run_forever())
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    config = _config(args)
    from storage.db import migrate_sync_url

    migrate_sync_url(config.storage.url)
    print("database is up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    interactive = False if args.no_input else None
    port = None
    if args.web:
        port = args.port or _free_port()
    try:
        return asyncio.run(run_demo(Path(args.db), interactive, web_port=port))
    except KeyboardInterrupt:
        print("\nbye", flush=True)
        return 0


def _free_port() -> int:
    """A port free now, so the sign-in link can name it before the server starts."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


EXPORT_COLUMNS = [
    "id",
    "ref",
    "account",
    "chat",
    "title",
    "status",
    "priority",
    "assignee",
    "created_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "csat",
    "category",
    "tags",
    "fields",
    "messages",
    "events",
]


def cmd_export(args: argparse.Namespace) -> int:
    config = _config(args)

    async def load() -> list[dict[str, Any]]:
        from storage.db import make_engine, make_sessions, migrate
        from storage.queries import all_cases

        engine = make_engine(config.storage.url)
        try:
            await migrate(engine)
            async with make_sessions(engine)() as session:
                return await all_cases(session)
        finally:
            await engine.dispose()

    cases = asyncio.run(load())
    if args.format == "json":
        text = json.dumps(cases, ensure_ascii=False, indent=2)
    else:
        from storage.export import cases_csv

        text = cases_csv(cases, EXPORT_COLUMNS)
    if args.output:
        Path(args.output).write_text(
            text + ("\n" if args.format == "json" else ""), encoding="utf-8"
        )
    else:
        sys.stdout.write(text + ("\n" if args.format == "json" else ""))
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    config = _config(args)

    async def work() -> int:
        from cases.clock import SystemClock
        from storage import outbox
        from storage.db import make_engine, make_sessions, migrate

        engine = make_engine(config.storage.url)
        try:
            await migrate(engine)
            sessions = make_sessions(engine)
            async with sessions() as session, session.begin():
                if args.retry is not None or args.retry_all:
                    ids = None if args.retry_all else args.retry
                    n = await outbox.retry_rows(session, ids, SystemClock().now())
                    print(f"{n} dead row(s) queued again")
                    return 0
                statuses = ["dead"] if args.dead else ["pending", "dead"]
                rows = await outbox.list_rows(session, statuses, args.limit)
                totals = await outbox.counts(session)
            print("outbox: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))
            for row in rows:
                text = str(row.payload.get("text", "")).replace("\n", " ")[:60]
                print(
                    f"{row.id:>6} {row.status:<7} {row.platform}:{row.chat} {row.kind}/"
                    f"{row.purpose} attempts={row.attempts} "
                    f"{('error=' + (row.last_error or '')[:80]) if row.last_error else ''} "
                    f"{text!r}"
                )
            return 0
        finally:
            await engine.dispose()

    return asyncio.run(work())


def cmd_hash_password(args: argparse.Namespace) -> int:
    """Print a `password_hash` for `[[http.users]]`; reads the password from stdin
    (one line) so it stays out of shell history."""
    import getpass

    from web.auth import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        raise UserError("hash-password: use at least 8 characters")
    print(hash_password(password))
    return 0


def cmd_failed(args: argparse.Namespace) -> int:
    config = _config(args)

    async def work() -> int:
        from bot.app import App
        from storage import failed

        app = App(config)
        try:
            await app.prepare()
            async with app.sessions() as session:
                rows = await failed.pending(session, args.limit)
            if not args.retry:
                print(f"{len(rows)} inbound event(s) the engine rejected")
                for row in rows:
                    print(
                        f"{row.id:>6} {row.failed_at:%Y-%m-%d %H:%M:%S} {row.chat} "
                        f"{row.kind} event {row.event_id}: {row.error[:120]}"
                    )
                return 0
            ok = 0
            # an event its adapter could not read has nothing to replay: it stays listed
            unreadable = [r for r in rows if r.kind == failed.UNREADABLE]
            rows = [r for r in rows if r.kind != failed.UNREADABLE]
            for row in rows:
                result = (await app.ingestor.handle_batch([failed.from_payload(row.payload)]))[0]
                ok += not isinstance(result, Exception)
            async with app.sessions() as session, session.begin():
                await failed.mark_retried(session, [r.id for r in rows], app.clock.now())
            print(
                f"retried {len(rows)}: {ok} handled, {len(rows) - ok} failed again "
                "(kept as new rows); replies go out with the running casebot"
                + (f"; {len(unreadable)} unreadable, kept as they came" if unreadable else "")
            )
            return 0
        finally:
            await app.db.dispose()

    return asyncio.run(work())


def cmd_doctor(args: argparse.Namespace) -> int:
    config = _config(args)
    found = None
    if config.slack is not None:
        from adapters.slack_doctor import run_doctor as slack_doctor

        found = asyncio.run(slack_doctor(config))
    if config.feishu is not None:
        from adapters.feishu_doctor import run_feishu_doctor

        if found is not None:
            print()
        feishu_found = asyncio.run(run_feishu_doctor(config))
        found = feishu_found if found is None else max(found, feishu_found)
    if found is not None:
        if config.telegram is None:
            return found
        print()
        return max(found, _telegram_doctor(config))
    if config.telegram is None:
        raise UserError("doctor: no [telegram], [slack] or [feishu] section in the config")
    return _telegram_doctor(config)


def _telegram_doctor(config: Config) -> int:
    assert config.telegram is not None
    if not config.telegram.token:
        raise AdapterConfigError("telegram.token: not set (nor CASEBOT_TELEGRAM_TOKEN)")
    from adapters.telegram_doctor import run_doctor
    from storage.db import StorageError
    from storage.directory import stored_chats

    # PTB logs a traceback for every answer it cannot parse; the doctor says it in a line
    logging.getLogger("telegram").setLevel(logging.CRITICAL)

    async def work() -> int:
        try:
            stored = await stored_chats(config.storage.url, "telegram")
        except StorageError:
            stored = []
        return await run_doctor(config, stored)

    return asyncio.run(work())


# ------------------------------------------------------------------- parsing


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casebot", description="Chat-first support: group chats in, tracked cases out."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", "-c", required=True, help="the TOML config file")
        return p

    p = with_config("run", "run adapters, dispatcher, scheduler and HTTP server")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_run)

    p = with_config("check-config", "validate the config file")
    p.add_argument("--connect", action="store_true", help="also open the database")
    p.set_defaults(func=cmd_check_config)
    with_config("migrate", "bring the database schema up to date").set_defaults(func=cmd_migrate)

    p = with_config("export", "all cases as JSON or CSV")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--output", "-o", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_export)

    p = with_config("outbox", "list pending and dead outbox rows, or retry dead ones")
    p.add_argument("--dead", action="store_true", help="only dead rows")
    p.add_argument("--retry", type=int, nargs="+", metavar="ID", help="retry these dead rows")
    p.add_argument("--retry-all", action="store_true", help="retry every dead row")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(func=cmd_outbox)

    with_config("doctor", "check the Telegram or Feishu bot and its groups").set_defaults(
        func=cmd_doctor
    )

    p = with_config("failed", "list inbound events the engine rejected, or retry them")
    p.add_argument("--retry", action="store_true", help="run them through the engine again")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(func=cmd_failed)

    p = sub.add_parser("hash-password", help="hash a dashboard password for [[http.users]]")
    p.set_defaults(func=cmd_hash_password)

    p = sub.add_parser("demo", help="play a support conversation in the terminal")
    p.add_argument("--db", default="casebot-demo.db", help="SQLite file for the demo")
    p.add_argument("--no-input", action="store_true", help="do not ask for more lines")
    p.add_argument(
        "--web", action="store_true", help="also serve the dashboard and print a sign-in link"
    )
    p.add_argument("--port", type=int, default=8080, help="port for --web (0: any free one)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, AdapterConfigError) as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from storage.db import StorageError, connection_problem

        if isinstance(exc, StorageError):
            print(f"config error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        url = getattr(args, "storage_url", None)
        problem = connection_problem(exc, url) if url else None
        if problem is not None:
            print(f"error: storage.url: {problem}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, OperationalError | DBAPIError | OSError) and _is_connect_error(exc):
            print(f"error: cannot reach the database: {_first_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        raise


def _is_connect_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(
        s in text
        for s in ("connect", "unable to open", "does not exist", "refused", "authentication")
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


if __name__ == "__main__":
    raise SystemExit(main())
