"""`policy-engine`: eval, serve and bench.

A wrong option or environment variable is one line on stderr and exit status 2, `--help` included
(the environment gives the options' defaults).
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from policy_engine import __version__
from policy_engine.bundle.locate import DEFAULT_QUERY
from policy_engine.config import SettingsError


class Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (usage is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class ShowVersion(argparse.Action):
    """--version: the package's and the embedded OPA's, read from the bridge only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        print(version_text())
        parser.exit(0)


def version_text() -> str:
    from policy_engine.engine.bridge import load_bridge
    from policy_engine.engine.errors import EngineError

    try:
        versions = load_bridge().version()
        opa = f"OPA {versions['opa']} ({versions['go']})"
    except EngineError as exc:
        opa = f"OPA unknown: {exc.message}"
    return f"policy-engine {__version__}, {opa}"


def _eval(args: argparse.Namespace) -> int:
    from policy_engine.engine.jsonl import evaluate_lines

    if not args.jsonl:
        raise SettingsError("only --jsonl input is supported")
    if args.bundle and "://" not in args.bundle and not Path(args.bundle).exists():
        raise SettingsError(f"--bundle {args.bundle}: no such file or directory")
    evaluate_lines(sys.stdin.buffer, sys.stdout.buffer, bundle=args.bundle, query=args.query)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from policy_engine.http.server import serve

    return serve(args)


def _bench(args: argparse.Namespace) -> int:
    from policy_engine.bench.main import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    """The command line; SettingsError when the environment holds a wrong value."""
    parser = Parser(prog="policy-engine", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action=ShowVersion)
    commands = parser.add_subparsers(dest="command", required=True, metavar="{eval,serve,bench}")

    ev = commands.add_parser("eval", help="evaluate OPA input documents read from stdin")
    ev.add_argument("--jsonl", action="store_true", help="one JSON input per line, one decision per line")
    ev.add_argument("--bundle", help="bundle directory or .tar.gz (default: the project's own)")
    ev.add_argument("--query", default=DEFAULT_QUERY, help=f"the query evaluated (default {DEFAULT_QUERY})")
    ev.set_defaults(func=_eval)

    from policy_engine.http.server import add_arguments as add_serve_arguments

    add_serve_arguments(commands.add_parser("serve", help="run the HTTP service")).set_defaults(func=_serve)

    from policy_engine.bench.main import add_arguments as add_bench_arguments

    add_bench_arguments(commands.add_parser("bench", help="run a benchmark")).set_defaults(func=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return args.func(args)
    except SettingsError as exc:
        command = f"policy-engine {args.command}" if "args" in locals() else "policy-engine"
        print(f"{command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
