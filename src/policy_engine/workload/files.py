"""The trace as files that native load tools replay."""

import base64
from collections.abc import Iterable
from pathlib import Path

import orjson

from policy_engine.http.acgs_request import opa_input, parse_evaluate_request


def write_jsonl(bodies: Iterable[dict], path: Path) -> int:
    """API request bodies, one JSON object per line; answers the count."""
    count = 0
    with path.open("wb") as out:
        for body in bodies:
            out.write(orjson.dumps(body) + b"\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line.strip()]


def as_opa_request(body: bytes) -> bytes:
    """An ACGS request body as the body a client of the OPA sidecar POSTs to /v1/data."""
    return b'{"input":' + opa_input(parse_evaluate_request(body)) + b"}"


def write_vegeta_targets(url: str, bodies: Iterable[bytes], path: Path) -> None:
    """vegeta's JSON target format: one POST per line, body base64."""
    header = {"Content-Type": ["application/json"]}
    with path.open("wb") as out:
        for body in bodies:
            target = {"method": "POST", "url": url, "body": base64.b64encode(body).decode(), "header": header}
            out.write(orjson.dumps(target) + b"\n")
