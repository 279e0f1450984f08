"""The command line as a user meets it: exit codes, one-line errors, export, outbox, demo."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract import CASE_FIELDS, CONTRACT_CONFIG
from tests.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
HASH = "pbkdf2_sha256$600000$c2FsdA$aGFzaA"


def casebot(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
        input=stdin,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_example_config_is_valid() -> None:
    result = casebot("check-config", "--config", str(ROOT / "config.example.toml"))
    assert result.returncode == 0, result.stderr
    assert "config ok" in result.stdout


@pytest.mark.parametrize(
    ("toml", "named"),
    [
        ("[stafff]\n", "stafff: unknown key"),
        ('[telegram]\ntoken = "x"\nmode = "webhook"\n', "telegram.webhook_url"),
        ('[scheduler]\ntick = "soon"\n', "scheduler.tick"),
        ('[[fields]]\nname = "x"\ntype = "choice"\n', "fields[0].choices"),
        (
            '[[intake.categories]]\nname = "a"\nquestions = [{ field = "f", ask = "?", '
            'pattern = "(" }]\n',
            "intake.categories[0].questions[0].pattern",
        ),
        ('[[accounts]]\nname = "A"\nintake = "maybe"\n', "accounts[0].intake"),
        ("[http]\nport = 99999\n", "http.port"),
        ('[escalation]\nwarn_to = ["boss"]\n', "escalation.warn_to[0]"),
        (
            '[[escalation.levels]]\nafter = "2h"\nto = ["leads"]\n'
            '[[escalation.levels]]\nafter = "1h"\nto = ["owner"]\n',
            "escalation.levels[1].after",
        ),
        ('[storage]\nurl = "mysql://x"\n', "storage.url"),
        ('[storage]\nurl = "sqlite+aiosqlite:///no/such/dir/x.db"\n', "storage.url"),
        ('[staff]\nengineers = ["1001"]\n', "staff.engineers[0]"),
        ("this is = = not toml", "not valid TOML"),
        ('[scheduler]\ntick = "0s"\n', "scheduler.tick"),
        ("[scheduler]\ntick = 30\n", "scheduler.tick"),
        ("[cases]\nreopen_window = 7\n", "cases.reopen_window"),
        (
            '[staff]\nengineers = ["telegram:1"]\n'
            '[[http.users]]\nname = "eve"\nperson = "telegram:666"\n'
            f'password_hash = "{HASH}"\n',
            "http.users[0].person",
        ),
        (
            '[staff]\nengineers = ["telegram:1", "telegram:2"]\n'
            f'[[http.users]]\nname = "evan"\nperson = "telegram:1"\npassword_hash = "{HASH}"\n'
            f'[[http.users]]\nname = "evan"\nperson = "telegram:2"\npassword_hash = "{HASH}"\n',
            "http.users[1].name",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path: Path, toml: str, named: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml)
    result = casebot("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_tier_without_targets_is_a_warning_not_an_error(tmp_path: Path) -> None:
    """Two accounts and SLA targets for one tier only (the contract's example plus a
    customer on a plan without SLA): valid, with a warning in case it is a typo."""
    path = tmp_path / "c.toml"
    path.write_text(
        '[[accounts]]\nname = "Acme"\ntier = "premium"\nchats = ["telegram:-1"]\n'
        '[[accounts]]\nname = "Globex"\nchats = ["telegram:-2"]\n'
        '[sla.premium]\nP1 = { first_response = "5m", resolution = "4h" }\n'
    )
    result = casebot("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "config ok: 2 account(s)" in result.stdout
    assert result.stderr.strip() == (
        "warning: accounts[1].tier: no [sla.standard] section, so cases of 'Globex' run no "
        "SLA clocks"
    )


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = casebot("export", "--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2 and "not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_secrets_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[telegram]\nmode = "webhook"\nwebhook_url = "https://x/telegram/webhook"\n')
    result = casebot(
        "check-config",
        "--config",
        str(path),
        env={"CASEBOT_TELEGRAM_TOKEN": "1:A", "CASEBOT_TELEGRAM_SECRET_TOKEN": "s"},
    )
    assert result.returncode == 0, result.stderr


def _config_for(url: str, tmp_path: Path) -> Path:
    path = tmp_path / "casebot.toml"
    path.write_text(f'[storage]\nurl = "{url}"\n')
    return path


async def test_export_json_and_csv(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(sqlite_url) as h:
        await h.say("alice", "printer on fire")
        out = await h.say("evan", "/case Printer", reply_to=h.last_message_id)
        await h.say("evan", "/note checking the fuser")
        await h.say("evan", "/tag hardware fire")
        await h.say("evan", "/field floor 3")
    config = _config_for(sqlite_url, tmp_path)
    result = casebot("export", "--config", str(config), "--format", "json")
    assert result.returncode == 0, result.stderr
    cases = json.loads(result.stdout)
    (case,) = cases
    assert set(case) >= CASE_FIELDS, CASE_FIELDS - set(case)
    assert case["ref"] == f"#{out.case_id}" and case["title"] == "Printer"
    assert case["created_at"].endswith("Z")
    for m in case["messages"]:
        assert set(m) >= {"platform_message_id", "sender", "role", "text", "at", "internal"}
    assert any(m["internal"] for m in case["messages"])
    assert {e["type"] for e in case["events"]} >= {"opened", "note", "tagged", "field_set"}
    assert case["tags"] == ["hardware", "fire"] and case["fields"] == {"floor": "3"}
    result = casebot("export", "--config", str(config), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["ref"] == f"#{out.case_id}" and rows[0]["account"] == "Acme"
    assert rows[0]["tags"] == "hardware fire" and rows[0]["fields"] == "floor=3"


async def test_outbox_lists_and_retries_dead_rows(sqlite_url: str, tmp_path: Path) -> None:
    async with Harness(sqlite_url) as h:
        await h.say("alice", "hello?")
        await h.say("evan", "/case", reply_to=h.last_message_id)
        async with h.sessions() as session, session.begin():
            from sqlalchemy import update

            from storage.models import OutboxRow

            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id == 1)
                .values(status="dead", last_error="Forbidden: bot was kicked")
            )
    config = _config_for(sqlite_url, tmp_path)
    listing = casebot("outbox", "--config", str(config), "--dead")
    assert listing.returncode == 0
    assert "dead" in listing.stdout and "kicked" in listing.stdout
    retried = casebot("outbox", "--config", str(config), "--retry", "1")
    assert "1 dead row(s) queued again" in retried.stdout
    listing = casebot("outbox", "--config", str(config), "--dead")
    assert "kicked" not in listing.stdout.split("\n", 1)[1]


def test_demo_shows_a_case_made_from_chat(tmp_path: Path) -> None:
    result = casebot("demo", "--db", str(tmp_path / "demo.db"), "--no-input")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Case #1: VM web-01 down" in out
    assert "Thanks, we are on it: this is case #1" in out
    for event in ("opened", "status_changed", "priority_changed", "note", "csat"):
        assert event in out
    assert "Lunch at 12" not in out.split("-- transcript")[1], "chatter joined the case"


def test_demo_takes_typed_lines(tmp_path: Path) -> None:
    typed = "alice> my VM is down again\nevan> /case VM down again\ncase 2\nquit\n"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio,sys; from pathlib import Path; from bot.demo import run_demo;"
            f"asyncio.run(run_demo(Path({str(tmp_path / 'd.db')!r}), True))",
        ],
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "Case #2: VM down again" in result.stdout


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_the_design_documents_sample_config_is_valid(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "casebot.toml"
    path.write_text(CONTRACT_CONFIG.replace('mode = "polling"', f'mode = "{mode}"'))
    result = casebot("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr


PG = "postgresql+asyncpg://{}@127.0.0.1:5432/{}"


@pytest.mark.parametrize("command", ["migrate", "run", "export", "outbox", "failed"])
@pytest.mark.parametrize(
    ("url", "cause"),
    [
        (PG.format("postgres", "nope_xyz"), 'database "nope_xyz" does not exist'),
        (PG.format("nobody_xyz", "test"), 'role "nobody_xyz" does not exist'),
        (
            "postgresql+asyncpg://postgres@nohost.invalid:5432/test",
            "host nohost.invalid does not resolve",
        ),
    ],
)
def test_a_database_that_cannot_be_opened_is_one_line(
    tmp_path: Path, command: str, url: str, cause: str
) -> None:
    path = tmp_path / "casebot.toml"
    path.write_text(f'[storage]\nurl = "{url}"\n[http]\nenabled = false\n')
    result = casebot(command, "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: storage.url: ") and cause in last, result.stderr


@pytest.mark.parametrize("command", ["run", "doctor"])
def test_no_telegram_token_is_one_line(tmp_path: Path, command: str) -> None:
    path = tmp_path / "casebot.toml"
    path.write_text('[http]\nenabled = false\n[telegram]\nmode = "polling"\n')
    env = {k: v for k, v in os.environ.items() if k != "CASEBOT_TELEGRAM_TOKEN"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", command, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "config error: telegram.token: not set (nor CASEBOT_TELEGRAM_TOKEN)"
    )


def test_check_config_connect_says_whether_the_database_answers(tmp_path: Path) -> None:
    path = tmp_path / "casebot.toml"
    path.write_text(f'[storage]\nurl = "{PG.format("postgres", "test")}"\n')
    result = casebot("check-config", "--connect", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database answers" in result.stdout and "config ok" in result.stdout
    path.write_text(f'[storage]\nurl = "{PG.format("postgres", "nope_xyz")}"\n')
    result = casebot("check-config", "--connect", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: storage.url: the database server at 127.0.0.1:5432 refused: "
        'database "nope_xyz" does not exist'
    ]
    result = casebot("check-config", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, "without --connect the database is not opened"


class _Terminal:
    """The real `casebot demo` on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, db: Path) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--db", str(db)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        os.close(slave)
        self.output = ""

    def read_until(self, text: str, timeout: float) -> str:
        import select
        import time

        end = time.monotonic() + timeout
        while text not in self.output:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} within {timeout}s:\n{self.output[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the demo ended and closed the terminal
                    raise AssertionError(f"demo ended before {text!r}:\n{self.output}") from None
        return self.output

    def drain(self, seconds: float) -> None:
        import select
        import time

        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if select.select([self.master], [], [], left)[0]:
                try:
                    self.output += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    return

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def test_demo_answers_each_typed_line_at_once_and_once(tmp_path: Path) -> None:
    """Two dispatchers used to print each row, and reading the terminal blocked the
    loop, so an answer came one line late and twice."""
    term = _Terminal(tmp_path / "demo.db")
    try:
        term.read_until("Your turn", 60)
        term.read_until("> ", 10)
        before = len(term.output)
        term.type("alice> our backups fail since Monday")
        term.type("evan@16> /case Backups fail")
        term.read_until("this is case #2", 5)  # answered without another line typed
        term.drain(1.0)  # a second sender would have printed the row again by now
        answered = term.output[before:]
        assert answered.count("this is case #2") == 1, answered
        assert answered.count("#2 Backups fail\r\n") == 1, answered  # the triage card
        term.type("evan> /status")
        term.read_until("#2", 5)

        term.proc.send_signal(2)  # Ctrl-C
        assert term.proc.wait(timeout=5) == 0
        term.drain(0.5)
        tail = term.output[before:]
        assert "bye" in tail and "Traceback" not in tail, tail
    finally:
        term.close()


def test_demo_web_serves_the_dashboard_behind_a_printed_sign_in_link(tmp_path: Path) -> None:
    import re
    import urllib.request
    from http.cookiejar import CookieJar

    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo", "--web", "--port", "0", "--no-input"]
        + ["--db", str(tmp_path / "demo.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        link = None
        for line in proc.stdout:
            found = re.search(r"one-time link: (http://127\.0\.0\.1:\d+/login/\S+)", line)
            if found:
                link = found.group(1)
                break
        assert link, "no sign-in link printed"
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = browser.open(link, timeout=10).read().decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf, page
        data = f"csrf={csrf.group(1)}".encode()
        home = browser.open(urllib.request.Request(link, data=data), timeout=10)
        assert "/queue/" in home.url, home.url  # signed in: the dashboard, not the form
        base = link.split("/login/")[0]
        case = browser.open(f"{base}/cases/1", timeout=10).read().decode()
        assert "VM web-01 down" in case and "i-0abc123" in case
        proc.send_signal(2)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_relative_sqlite_path_is_beside_the_config_file(tmp_path: Path) -> None:
    """`sqlite+aiosqlite:///./casebot.db` in /etc/casebot/casebot.toml is
    /etc/casebot/casebot.db, whichever directory casebot is started in."""
    etc = tmp_path / "etc" / "casebot"
    etc.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = etc / "casebot.toml"
    config.write_text('[storage]\nurl = "sqlite+aiosqlite:///./casebot.db"\n')
    result = casebot("migrate", "--config", str(config), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert (etc / "casebot.db").exists() and not (elsewhere / "casebot.db").exists()
    config.write_text('[storage]\nurl = "sqlite+aiosqlite:///data/casebot.db"\n')
    result = casebot("check-config", "--config", str(config), cwd=elsewhere)
    assert result.returncode == 2 and f"{etc / 'data'} does not exist" in result.stderr
