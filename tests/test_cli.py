"""The command line explains itself: versions, help on every option, one-line errors."""

import argparse
import socket
import subprocess
import sys

import pytest

from policy_engine import __version__
from policy_engine.bench.opa_server import free_port
from policy_engine.bundle.locate import opa_binary
from policy_engine.cli import build_parser, main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_version_names_the_package_and_the_embedded_opa(capsys):
    code, out, _ = run(capsys, "--version")
    opa = subprocess.run([opa_binary(), "version"], capture_output=True, text=True, check=True).stdout
    opa_version = opa.splitlines()[0].split(":", 1)[1].strip()  # "Version: 1.22.3"
    assert code == 0
    assert out.startswith(f"policy-engine {__version__}, OPA {opa_version} ")


def subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += subcommands(sub)
    return found


def test_every_option_of_every_subcommand_has_help():
    missing = [
        f"{parser.prog} {'/'.join(action.option_strings)}"
        for parser in subcommands(build_parser())
        for action in parser._actions
        if action.option_strings and not action.help
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CACHE_TTL", "5m", "CACHE_TTL=5m: expected a number of seconds"),
        ("PE_WORKERS", "x", "PE_WORKERS=x: expected a whole number"),
        ("PE_WORKERS", "0", "PE_WORKERS=0: must be at least 1"),
        ("LOG_LEVEL", "verbose", "LOG_LEVEL=verbose: expected one of"),
        ("PE_CACHE_ENABLED", "maybe", "PE_CACHE_ENABLED=maybe: expected true or false"),
        ("PE_LOG_FORMAT", "xml", "PE_LOG_FORMAT=xml: expected one of text, json"),
    ],
)
def test_a_bad_environment_value_is_one_line_and_exit_2_even_for_help(capsys, monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    code, out, err = run(capsys, "serve", "--help")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and says in err


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--log-level", "verbose"), "--log-level=verbose: expected one of critical, error, warning, info, debug"),
        (("--workers", "0"), "--workers=0: must be at least 1"),
        (("--workers", "x"), "argument --workers: invalid int value: 'x'"),
        (("--cache-ttl", "nan"), "--cache-ttl=nan: expected a finite number"),
        (("--log-format", "xml"), "--log-format=xml: expected one of text, json"),
        (("--port", "70000"), "--port=70000: must be at most 65535"),
        (("--no-such-flag",), "unrecognized arguments: --no-such-flag"),
    ],
)
def test_a_bad_flag_is_one_line_and_exit_2(capsys, flags, says):
    code, _, err = run(capsys, "serve", *flags)
    assert code == 2
    assert err.count("\n") == 1 and says in err


@pytest.mark.parametrize("command", [("serve",), ("eval", "--jsonl")])
def test_a_missing_bundle_is_one_line_and_exit_2(capsys, command):
    code, _, err = run(capsys, *command, "--bundle", "/no/such/bundle")
    assert code == 2
    assert err == f"policy-engine {command[0]}: error: --bundle /no/such/bundle: no such file or directory\n"


def test_a_port_in_use_is_reported_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr == f"policy-engine serve: error: port {port} on 127.0.0.1 is already in use\n"
    assert done.stdout == ""


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_refused_bundle_stops_the_start_up_with_status_3(tmp_path, workers):
    (tmp_path / "broken.rego").write_text("package broken\n\nthis is not rego\n")
    port = str(free_port())
    cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", port]
    done = subprocess.run([*cmd, "--workers", workers, "--bundle", str(tmp_path)], capture_output=True, timeout=120)
    assert done.returncode == 3
    assert b"no bundle could be loaded" in done.stderr
