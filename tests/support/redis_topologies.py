"""Redis as production runs it, locally: a 3-master cluster, TLS with its own CA, ACL users, Sentinel."""

import contextlib
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.cluster import RedisCluster

QUIET = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


def wait_until(condition, seconds: float = 15.0, what: str = "redis") -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not come up in {seconds}s")
        time.sleep(0.05)


def stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too, so at most 55535."""
    while True:
        port = random.randrange(20000, 45000)
        if all(_free(p) for p in (port, port + 10000)):
            return port


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class LocalCluster:
    """Three masters, no replicas: `redis-server --cluster-enabled yes` x3, `redis-cli --cluster create`."""

    def __init__(self, folder: Path, masters: int = 3) -> None:
        self.folder = folder
        self.ports: list[int] = []
        while len(self.ports) < masters:
            port = cluster_port()
            if all(abs(port - other) not in (0, 10000) for other in self.ports):
                self.ports.append(port)
        self.procs: dict[int, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports[:2])

    def start(self) -> None:
        for port in self.ports:
            cmd = ["redis-server", "--port", str(port), *QUIET, "--dir", str(self.folder)]
            cmd += ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
            cmd += ["--cluster-node-timeout", "1000"]
            self.procs[port] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in self.ports:
            wait_until(lambda port=port: self.node(port).ping())
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
        )
        for port in self.ports:
            wait_until(lambda port=port: self.node(port).cluster("info")["cluster_state"] == "ok", what="the cluster")

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_timeout=1)

    def client(self) -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=self.ports[0], socket_timeout=1)

    def keys_per_node(self, pattern: str) -> dict[int, int]:
        return {port: len(self.node(port).keys(pattern)) for port in self.ports if self.procs[port].poll() is None}

    def kill(self, port: int) -> None:
        self.procs[port].kill()
        self.procs[port].wait()

    def stop(self) -> None:
        stop_all(list(self.procs.values()))


@contextlib.contextmanager
def local_cluster(folder: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(folder)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    paths = {name: folder / f"{name}.pem" for name in ("ca", "ca-key", "server", "server-key")}
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", str(paths["ca-key"]), "-out", str(paths["ca"]))  # fmt: skip
    csr = folder / "server.csr"
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(paths["server-key"]), "-out", str(csr))  # fmt: skip
    extensions = folder / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(paths["ca"]), "-CAkey", str(paths["ca-key"]),
        "-CAcreateserial", "-days", "1", "-extfile", str(extensions), "-out", str(paths["server"]))  # fmt: skip
    return paths


@contextlib.contextmanager
def redis_process(*args: str, ready) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(["redis-server", *QUIET, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(ready)
        yield proc
    finally:
        stop_all([proc])
