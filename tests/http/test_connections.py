"""No connection is held for free: heads are bounded in size, count and time; bodies in time."""

import contextlib
import socket
import time

import httpx

from policy_engine.bench import servers
from policy_engine.bench.stats import rss_mb

TIMEOUTS = ("--header-timeout", "1", "--body-timeout", "1")


def port_of(service: servers.Service) -> int:
    return int(service.url.rsplit(":", 1)[1])


def connect(service: servers.Service) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port_of(service)))
    sock.settimeout(10)
    return sock


def answer_then_close(sock: socket.socket) -> bytes:
    """What the server sent before closing (b"" if it closed without a word)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def test_a_flood_of_unfinished_headers_is_cut_with_431_and_memory_stays_bounded():
    with servers.running_service() as service:
        baseline = rss_mb(service.pid)
        floods = [connect(service) for _ in range(10)]
        line = b"X-Flood: " + b"a" * 1000 + b"\r\n"
        for sock in floods:
            sock.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: t\r\n")
            try:
                for _ in range(5000):  # 5 MB each, unless cut first
                    sock.sendall(line)
            except (BrokenPipeError, ConnectionResetError):
                pass
        answers = [answer_then_close(sock) for sock in floods]
        assert all(a.startswith(b"HTTP/1.1 431") for a in answers), answers
        assert rss_mb(service.pid) - baseline < 50


def test_too_many_headers_are_refused_with_431():
    with servers.running_service() as service:
        sock = connect(service)
        headers = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n")
        assert answer_then_close(sock).startswith(b"HTTP/1.1 431")


def test_slow_and_silent_connections_are_closed_at_their_timeouts():
    with servers.running_service(*TIMEOUTS) as service:
        silent = [connect(service) for _ in range(200)]
        slow = [connect(service) for _ in range(50)]
        started = time.monotonic()
        for sock in slow:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        for _ in range(10):  # a byte every 0.2 s: never a whole head
            for sock in slow:
                with contextlib.suppress(OSError):
                    sock.send(b"a")
            time.sleep(0.2)
        answers = [answer_then_close(sock) for sock in silent + slow]
        waited = time.monotonic() - started
        assert all(a == b"" or a.startswith(b"HTTP/1.1 408") for a in answers)
        assert waited < 5, f"held for {waited:.1f} s with a 1 s header timeout"
        with httpx.Client(base_url=service.url) as http:
            assert http.get("/health").status_code == 200


def test_a_stalled_body_is_cut_at_its_timeout():
    with servers.running_service(*TIMEOUTS) as service:
        sock = connect(service)
        sock.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        answer_then_close(sock)
        assert time.monotonic() - started < 5


def test_an_oversized_body_sent_whole_still_gets_its_413():
    with servers.running_service("--max-body-bytes", "1000") as service, httpx.Client(base_url=service.url) as http:
        response = http.post("/v1/evaluate", content=b"{" + b" " * 4_000_000 + b"}")
        assert response.status_code == 413
        assert http.get("/health").status_code == 200


def one_response(sock: socket.socket) -> bytes:
    """One response, its head and its content-length body (they may arrive in separate reads)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    while len(body) < int(lengths[0]):
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_the_rest_of_a_body_answered_early_is_body_not_the_next_head():
    """A 413 may go out before its body is all in: what follows is still that body, and the next
    request on the connection is read as a request (not counted as an oversized head: 431)."""
    with servers.running_service("--max-body-bytes", "1000", "--max-header-bytes", "4096") as service:
        sock = connect(service)
        size = 200_000
        head = b"POST /v1/evaluate HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        sock.sendall(head + b"content-length: %d\r\n\r\n{" % size + b" " * 9_999)
        first = one_response(sock)
        assert first.startswith(b"HTTP/1.1 413"), first
        sock.sendall(b" " * (size - 10_001) + b"}")
        sock.sendall(b"GET /no-such-path HTTP/1.1\r\nhost: x\r\n\r\n")
        second = one_response(sock)
        assert second.startswith(b"HTTP/1.1 404"), second
        sock.close()
