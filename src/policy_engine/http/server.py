"""`policy-engine serve`: placeholder until the service lands."""

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    return parser


def serve(args: argparse.Namespace) -> int:
    raise SystemExit("serve: not yet implemented")
