"""Responses compressed as OPA's server compresses them: gzip, when the client accepts it, from
OPA's default threshold (server.encoding.gzip.min_length, 1024 bytes) at its default level (9)."""

import zlib

from policy_engine.http.asgi import Request, Response

GZIP_MIN_LENGTH = 1024
GZIP_LEVEL = 9
# OPA compresses its Data and Compile APIs' answers; the batch APIs' answers are data too.
COMPRESSED_PATHS = ("/v1/data", "/v0/data", "/v1/compile", "/v1/batch/")


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    if accept_encoding is None:
        return False
    for item in accept_encoding.lower().split(b","):
        coding, _, params = item.strip().partition(b";")
        if coding.strip() in (b"gzip", b"*"):
            return not _refused(params.strip())
    return False


def gzipped(request: Request, response: Response) -> Response:
    """The response gzipped when the client accepts it and it is not encoded already."""
    if not request.path.startswith(COMPRESSED_PATHS):
        return response
    if any(name == b"content-encoding" for name, _ in response.headers):
        return response
    if not accepts_gzip(request.header(b"accept-encoding")):
        return response
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    body = deflate.compress(response.body) + deflate.flush()
    headers = [*response.headers, (b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
    return Response(response.status, body, headers)


def _refused(params: bytes) -> bool:
    """`q=0`: the client names the coding only to refuse it."""
    if not params.startswith(b"q="):
        return False
    try:
        return float(params[2:]) == 0
    except ValueError:
        return True
