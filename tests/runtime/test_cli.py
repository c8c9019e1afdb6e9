"""The `ticketing` command as a newcomer or a script meets it: a version, choices named,
and a status that says by its exit code whether a system runs."""

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from importlib.metadata import version
from pathlib import Path

from ticketing.cli import _parser
from ticketing.runtime import mailbox
from ticketing.runtime.ports import free_port
from ticketing.runtime.system import Options, embedded_postgres


def ticketing(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ticketing.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_version():
    done = ticketing("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"ticketing {version('ticketing')}"


def test_an_unknown_service_is_refused_naming_the_known_ones():
    for command in ("serve", "migrate"):
        done = ticketing(command, "billing")
        assert done.returncode == 2
        assert "invalid choice: 'billing'" in done.stderr
        assert "'auth', 'tickets', 'orders', 'expiration', 'payments'" in done.stderr


def test_every_command_and_argument_says_what_it_is_for():
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    helped = {choice.dest: choice.help for choice in commands._choices_actions}
    for name, command in commands.choices.items():
        assert helped.get(name), f"{name} has no help"
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction):
                assert action.help, f"{name} {action.dest} has no help"


def test_replicas_name_every_service_or_one_service_at_a_time():
    def up(*args: str) -> Options:
        every, own = _parser().parse_args(["up", *args]).replicas
        return Options(replicas=every, scaled=own)

    assert [up().replicas_of(s) for s in ("orders", "auth")] == [1, 1]
    assert [up("--replicas", "2").replicas_of(s) for s in ("orders", "auth")] == [2, 2]
    only_orders = up("--replicas", "orders=2")
    assert [only_orders.replicas_of(s) for s in ("orders", "auth")] == [2, 1]
    mixed = up("--replicas", "3,orders=2,tickets=1")
    assert [mixed.replicas_of(s) for s in ("orders", "tickets", "auth")] == [2, 1, 3]
    # PostgreSQL is sized for the pools of the processes there will be, no more
    assert (
        embedded_postgres(Path("x"), only_orders).max_connections
        < embedded_postgres(Path("x"), up("--replicas", "2")).max_connections
    )


def test_a_replica_count_that_is_no_count_or_no_service_is_refused():
    for value, says in [
        ("0", "a whole number from 1 to 16"),
        ("orders=two", "a whole number from 1 to 16"),
        ("orders=99", "a whole number from 1 to 16"),
        ("ordres=2", "'ordres' is no service; the services are auth, expiration"),
        ("", "a whole number"),
    ]:
        done = ticketing("up", "--replicas", value)
        assert done.returncode == 2, value
        assert says in done.stderr, (value, done.stderr)


def test_status_exits_1_when_nothing_runs(tmp_path):
    done = ticketing("status", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert "not running" in done.stdout
    as_json = ticketing("status", "--json", "--data-dir", str(tmp_path))
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == {"running": False}


def test_status_does_not_believe_the_state_a_killed_run_left(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (tmp_path / "state.json").write_text(
        json.dumps({"pid": gone.pid, "gateway": "http://127.0.0.1:1", "processes": []})
    )
    done = ticketing("status", "--json", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    assert json.loads(done.stdout) == {"running": False}


def _up_without_postgres(data_dir: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ticketing.cli", "up", "--data-dir", str(data_dir), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PG_BIN": str(data_dir / "no-postgres-here")},
    )


def test_a_failed_start_says_one_line_and_where_the_traceback_is(tmp_path):
    done = _up_without_postgres(tmp_path / "data", "--port", str(free_port()))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("ticketing: up failed: ") and "initdb" in lines[0]
    log = tmp_path / "data" / "up-failed.log"
    assert lines[1] == f"ticketing: traceback in {log} (or run with --debug)"
    assert len(lines) == 2 and "Traceback" not in done.stderr
    assert log.read_text().startswith("Traceback")


def test_debug_shows_the_traceback_of_a_failed_start(tmp_path):
    done = _up_without_postgres(tmp_path / "data", "--port", str(free_port()), "--debug")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert not (tmp_path / "data" / "up-failed.log").exists()


def _keep(mail_dir: Path, received: datetime, to: str, subject: str) -> Path:
    """A message as the local SMTP server stores it (runtime/mailbox.py names it)."""
    message = EmailMessage()
    message["From"] = "Ticketing <tickets@localhost>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(f"Hello {to}, {subject}.")
    message.add_alternative(f"<p>Hello {to}</p>", subtype="html")
    mail_dir.mkdir(parents=True, exist_ok=True)
    path = mail_dir / mailbox.file_name(received, to)
    path.write_bytes(bytes(message))
    return path


def test_mail_says_so_when_nothing_was_kept(tmp_path):
    done = ticketing("mail", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"no mail in {tmp_path / 'mail'} yet"


def test_mail_lists_the_last_n_newest_last_one_line_each(tmp_path):
    start = datetime(2026, 11, 29, 22, 45, 1, 123000, tzinfo=UTC)
    for minute, (to, subject) in enumerate(
        [
            ("seller@example.com", "Your ticket sold"),
            ("buyer@example.com", "Pay for Show by 23:00"),
            ("buyer@example.com", "Your receipt: Show"),
        ]
    ):
        _keep(tmp_path / "mail", start + timedelta(minutes=minute), to, subject)
    done = ticketing("mail", "--last", "2", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "2026-11-29 22:46:01  buyer@example.com  Pay for Show by 23:00",
        "2026-11-29 22:47:01  buyer@example.com  Your receipt: Show",
    ]
    assert len(ticketing("mail", "--data-dir", str(tmp_path)).stdout.splitlines()) == 3


def test_mail_refuses_a_count_that_is_not_a_positive_number(tmp_path):
    for bad in ("0", "-3", "five"):
        done = ticketing("mail", "--last", bad, "--data-dir", str(tmp_path))
        assert done.returncode == 2, bad
        assert "argument --last" in done.stderr and "Traceback" not in done.stderr


def test_mail_shows_one_message_newest_by_default_or_by_number_or_file(tmp_path):
    start = datetime(2026, 11, 29, 22, 45, 1, tzinfo=UTC)
    first = _keep(tmp_path / "mail", start, "seller@example.com", "Your ticket sold")
    _keep(tmp_path / "mail", start + timedelta(seconds=1), "buyer@example.com", "Your receipt")
    newest = ticketing("mail", "--show", "--data-dir", str(tmp_path))
    assert newest.returncode == 0, newest.stderr
    assert "Subject: Your receipt" in newest.stdout
    assert "Hello buyer@example.com, Your receipt." in newest.stdout  # the text part
    assert "<p>" not in newest.stdout
    for which in ("2", first.name, str(first)):
        shown = ticketing("mail", "--show", which, "--data-dir", str(tmp_path))
        assert shown.returncode == 0, shown.stderr
        assert "To: seller@example.com" in shown.stdout, which
    missing = ticketing("mail", "--show", "3", "--data-dir", str(tmp_path))
    assert missing.returncode == 1 and "holds 2 messages" in missing.stderr
