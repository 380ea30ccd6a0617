"""Stopping and dying: SIGTERM drains and answers what was sent; workers never outlive their parent."""

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from policy_engine.bench import servers
from policy_engine.bench.opa_server import free_port, wait_for_http

BODY = b'{"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}'
REQUEST = b"POST /v1/evaluate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%b" % (
    len(BODY),
    BODY,
)


def read_response(sock: socket.socket) -> bytes:
    sock.settimeout(20)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as found:
        return [int(p) for p in found.read().split()]


def workers(pid: int) -> list[int]:
    """The server's worker processes: its children but multiprocessing's resource tracker."""
    found = []
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                if b"spawn_main" in cmdline.read():
                    found.append(child)
        except FileNotFoundError:
            pass
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_during_a_burst_answers_every_request_already_written():
    with servers.running_service() as service:
        port = int(service.url.rsplit(":", 1)[1])
        sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(500)]
        for sock in sockets:
            sock.sendall(REQUEST)
        os.kill(service.pid, signal.SIGTERM)
        answers = [read_response(sock) for sock in sockets]
        for sock in sockets:
            sock.close()
    answered = sum(a.startswith(b"HTTP/1.1 200") for a in answers)
    assert answered == 500, f"{500 - answered} of 500 written requests were not answered"


def test_sigterm_turns_ready_off_and_serves_through_the_drain():
    with servers.running_service("--drain-seconds", "2") as service, httpx.Client(base_url=service.url) as http:
        os.kill(service.pid, signal.SIGTERM)
        time.sleep(0.3)
        assert http.get("/ready").status_code == 503
        assert http.get("/health").status_code == 200
        assert http.post("/v1/evaluate", content=BODY).json()["allow"] is True
        started = time.monotonic()
        while alive(service.pid) and time.monotonic() - started < 10:
            time.sleep(0.05)
        assert not alive(service.pid)
        assert time.monotonic() - started > 1.0  # it waited for the drain


@pytest.mark.timeout(120)
def test_workers_exit_when_their_parent_is_killed_and_a_new_instance_can_bind():
    port = free_port()
    command = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    parent = subprocess.Popen([*command, "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(port, "/ready", timeout=60, proc=parent)
        processes = children(parent.pid)  # the workers and multiprocessing's resource tracker
        assert len(workers(parent.pid)) == 2
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20
        while any(alive(p) for p in processes) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(p) for p in processes), "workers outlived their parent"
        again = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for_http(port, "/ready", timeout=60, proc=again)
        finally:
            again.terminate()
            again.wait(30)
    finally:
        if parent.poll() is None:
            parent.kill()


@pytest.mark.timeout(120)
def test_a_killed_worker_is_replaced():
    with servers.running_service("--workers", "2") as service, httpx.Client(base_url=service.url) as http:
        first = workers(service.pid)
        assert len(first) == 2
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = [p for p in workers(service.pid) if alive(p)]
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.1)
        replaced = [p for p in workers(service.pid) if alive(p)]
        assert len(replaced) == 2 and first[0] not in replaced and first[1] in replaced
        for _ in range(20):
            assert http.post("/v1/evaluate", content=BODY).status_code == 200
