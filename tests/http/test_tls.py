"""HTTPS with --tls-cert-file/--tls-private-key-file (certificates made here with openssl), the
certificate rotated while serving, and client certificates with --authentication tls: the
verified subject is input.identity for the system.authz policy, as OPA names it."""

import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from policy_engine.bench.opa_server import free_port
from policy_engine.bundle.locate import default_bundle, opa_binary

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")

ACGS = {"action": "data.read", "context": {"agent": {"trust_level": 0.9}}}

AUTHZ = """package system.authz

default allow := false

allow if input.identity == "CN=alice,O=ACGS"

# The certificate itself, as OPA gives it: Go's JSON of x509.Certificate.
allow if {
    input.path == ["v1", "data", "acgs", "config", "min_benefit"]
    input.client_certificates[0].Subject.CommonName == "bob"
    input.client_certificates[0].Issuer.CommonName == "test-ca"
}
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(directory: Path) -> None:
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=test-ca", cwd=directory)  # fmt: skip


def make_cert(directory: Path, name: str, subject: str, server: bool = True) -> None:
    """name.pem and name.key, signed by the CA in `directory`."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory)  # fmt: skip
    extensions = directory / f"{name}.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n" if server else "basicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "1", "-extfile", extensions.name, cwd=directory)  # fmt: skip


@contextlib.contextmanager
def running(cmd: list[str], url: str, verify: ssl.SSLContext, ready: Callable[[httpx.Response], bool]) -> Iterator[str]:
    """Runs `cmd` for the block; yields `url` once a GET of it over TLS gets a `ready` answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PE_")}
    proc = subprocess.Popen(cmd, env={**env, "LOG_LEVEL": "warning"}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"{cmd[:3]} exited"
            with contextlib.suppress(httpx.HTTPError):
                if ready(httpx.get(url, verify=verify, timeout=1)):
                    break
            assert time.monotonic() < deadline, f"{url} did not answer in time"
            time.sleep(0.1)
        yield url.rsplit("/", 1)[0]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def https_service(
    *args: str, ca: Path, client_cert: tuple[str, str] | None = None
) -> contextlib.AbstractContextManager[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "policy_engine.cli", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
    ready = lambda response: response.status_code == 200  # noqa: E731
    return running(cmd, f"https://127.0.0.1:{port}/ready", trusting(ca, client_cert), ready)


def trusting(ca: Path, client_cert: tuple[str, str] | None = None) -> ssl.SSLContext:
    """A client's TLS context: trusts the test CA, presents `client_cert` when given."""
    context = ssl.create_default_context(cafile=str(ca))
    if client_cert is not None:
        context.load_cert_chain(*client_cert)
    return context


def opa_https(args: tuple[str, ...], ca: Path, client_cert: tuple[str, str]) -> contextlib.AbstractContextManager[str]:
    """`opa run --server` with the same TLS, authentication and authorization flags and bundle
    (ready once it answers at all: its authorization may refuse the probe)."""
    port = free_port()
    flags = [a for a in args if a not in ("--bundle", args[1])]
    cmd = [opa_binary(), "run", "--server", "--addr", f"127.0.0.1:{port}", "--log-level", "error", *flags]
    cmd += ["--bundle", args[1]]
    return running(cmd, f"https://127.0.0.1:{port}/health", trusting(ca, client_cert), lambda response: True)


def served_certificate(port: int, ca: Path) -> bytes:
    """The certificate a new connection is given (DER)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        trusting(ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        return tls.getpeercert(binary_form=True)


def der(pem: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


@pytest.fixture
def pki(tmp_path) -> Path:
    make_ca(tmp_path)
    make_cert(tmp_path, "server", "/CN=localhost")
    return tmp_path


def test_https_serves_with_the_given_certificate(pki):
    args = ("--tls-cert-file", str(pki / "server.pem"), "--tls-private-key-file", str(pki / "server.key"))
    with https_service(*args, ca=pki / "ca.pem") as url:
        response = httpx.post(f"{url}/v1/evaluate", json=ACGS, verify=trusting(pki / "ca.pem"))
        assert response.status_code == 200
        assert response.json()["allow"] is True
        port = int(url.rsplit(":", 1)[1])
        assert served_certificate(port, pki / "ca.pem") == der(pki / "server.pem")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2)  # plain HTTP is not served


def test_a_certificate_rotated_on_disk_is_served_to_new_connections(pki):
    cert, key = pki / "server.pem", pki / "server.key"
    args = ("--tls-cert-file", str(cert), "--tls-private-key-file", str(key), "--tls-cert-refresh-period", "200ms")
    with https_service(*args, ca=pki / "ca.pem") as url:
        port = int(url.rsplit(":", 1)[1])
        first = served_certificate(port, pki / "ca.pem")
        make_cert(pki, "rotated", "/CN=localhost/O=rotated")
        # Key first, then certificate: in between the pair does not match and is not loaded.
        shutil.copy(pki / "rotated.key", key)
        shutil.copy(pki / "rotated.pem", cert)
        deadline = time.monotonic() + 15
        while served_certificate(port, pki / "ca.pem") == first and time.monotonic() < deadline:
            time.sleep(0.1)
        assert served_certificate(port, pki / "ca.pem") == der(pki / "rotated.pem")
        assert httpx.post(f"{url}/v1/evaluate", json=ACGS, verify=trusting(pki / "ca.pem")).status_code == 200


def test_client_certificates_name_the_caller_for_the_authz_policy(pki):
    make_cert(pki, "alice", "/O=ACGS/CN=alice", server=False)
    make_cert(pki, "bob", "/O=ACGS/CN=bob", server=False)
    bundle = pki / "bundle"
    shutil.copytree(default_bundle(), bundle)
    manifest = orjson.loads((bundle / ".manifest").read_bytes())
    (bundle / ".manifest").write_bytes(orjson.dumps({**manifest, "roots": [*manifest["roots"], "system"]}))
    (bundle / "system").mkdir()
    (bundle / "system" / "authz.rego").write_text(AUTHZ)
    args = (
        "--bundle", str(bundle), "--tls-cert-file", str(pki / "server.pem"),
        "--tls-private-key-file", str(pki / "server.key"), "--tls-ca-cert-file", str(pki / "ca.pem"),
        "--authentication", "tls", "--authorization", "basic",
    )  # fmt: skip
    alice = (str(pki / "alice.pem"), str(pki / "alice.key"))
    bob = (str(pki / "bob.pem"), str(pki / "bob.key"))
    ca = pki / "ca.pem"
    with https_service(*args, ca=pki / "ca.pem", client_cert=alice) as url, opa_https(args, ca, alice) as opa:
        assert httpx.post(f"{url}/v1/evaluate", json=ACGS, verify=trusting(ca, alice)).status_code == 200
        assert httpx.post(f"{url}/v1/evaluate", json=ACGS, verify=trusting(ca, bob)).status_code == 401
        with pytest.raises(httpx.HTTPError):  # no client certificate: the handshake fails
            httpx.post(f"{url}/v1/evaluate", json=ACGS, verify=trusting(ca))
        # The same identities, decided as OPA decides them, on OPA's Data API.
        for caller in (alice, bob):
            for path in ("/v1/data/acgs/config/max_harm_risk", "/v1/data/acgs/config/min_benefit"):
                ours = httpx.get(url + path, verify=trusting(ca, caller))
                theirs = httpx.get(opa + path, verify=trusting(ca, caller))
                assert (ours.status_code, ours.json().get("result")) == (
                    theirs.status_code,
                    theirs.json().get("result"),
                )
        # bob is allowed the one path by his certificate's fields
        assert httpx.get(url + "/v1/data/acgs/config/min_benefit", verify=trusting(ca, bob)).status_code == 200


@pytest.mark.parametrize(
    "args",
    [
        ("--tls-cert-file", "c.pem"),
        ("--authentication", "tls"),
        ("--tls-ca-cert-file", "ca.pem"),
    ],
)
def test_tls_flags_without_their_companions_stop_serve_with_one_line(args):
    done = subprocess.run(
        [sys.executable, "-m", "policy_engine.cli", "serve", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--tls-" in done.stderr.strip().splitlines()[-1]
