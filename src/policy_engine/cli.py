"""`policy-engine`: eval, serve, bench, logs verify and replay."""

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


def _logs_verify(args: argparse.Namespace) -> int:
    from policy_engine.decision_logs.chain import verify

    verdict = verify(args.files)
    print(verdict.message)
    return 0 if verdict.whole else 1


def _replay(args: argparse.Namespace) -> int:
    from policy_engine.decision_logs.replay import main

    return main(args.files, args.against)


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

    logs = commands.add_parser("logs", help="decision log tools").add_subparsers(dest="logs_command", required=True)
    verify = logs.add_parser("verify", help="check the hash chain of decision log files (rotations included)")
    verify.add_argument("files", nargs="+", help="PATH and its rotations (PATH.1, PATH.2...), any order")
    verify.set_defaults(func=_logs_verify)

    replay = commands.add_parser("replay", help="ask logged decisions again of another OPA or a candidate bundle")
    replay.add_argument("files", nargs="+", help="decision log files")
    replay.add_argument("--against", required=True, help="an OPA server's URL, or a bundle directory or .tar.gz")
    replay.set_defaults(func=_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
