"""`policy-engine`: eval, serve and bench."""

import argparse
import sys
from collections.abc import Sequence

from policy_engine.bundle.locate import DEFAULT_QUERY


def _eval(args: argparse.Namespace) -> int:
    from policy_engine.engine.jsonl import evaluate_lines

    if not args.jsonl:
        print("policy-engine eval: only --jsonl input is supported", file=sys.stderr)
        return 2
    evaluate_lines(sys.stdin.buffer, sys.stdout.buffer, bundle=args.bundle, query=args.query)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from policy_engine.http.server import serve

    return serve(args)


def _bench(args: argparse.Namespace) -> int:
    from policy_engine.bench.main import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policy-engine", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    ev = commands.add_parser("eval", help="evaluate OPA input documents read from stdin")
    ev.add_argument("--jsonl", action="store_true", help="one JSON input per line, one decision per line")
    ev.add_argument("--bundle", help="bundle directory or .tar.gz (default: the project's own)")
    ev.add_argument("--query", default=DEFAULT_QUERY)
    ev.set_defaults(func=_eval)

    from policy_engine.http.server import add_arguments as add_serve_arguments

    add_serve_arguments(commands.add_parser("serve", help="run the HTTP service")).set_defaults(func=_serve)

    from policy_engine.bench.main import add_arguments as add_bench_arguments

    add_bench_arguments(commands.add_parser("bench", help="run a benchmark")).set_defaults(func=_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
