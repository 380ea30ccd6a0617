"""Who may call, decided as `opa run --authentication ... --authorization basic` decides it.

Authentication names the caller: a bearer token (`--authentication token`) or the subject of a
verified client certificate (`--authentication tls`). Authorization asks the bundle's
`data.system.authz.allow` with OPA's input (method, path as a list, params, headers, identity,
and the body of the POSTs OPA exposes it for), through the service's own decision path, so the
decision is cached on what the policy reads. It covers every endpoint (the ACGS API, the batch
APIs, /metrics) except the exempt paths. Off by default; when off, nothing here runs.

With --authentication tls the input also has `client_certificates`: the client's certificate as
OPA gives it (Go's JSON of x509.Certificate, made by the bridge). Python's ssl gives the leaf
only, so intermediates a client sends are not in it.
"""

import re
from urllib.parse import parse_qs, unquote

import orjson
import yaml

from policy_engine.decisions import Decisions
from policy_engine.engine.bridge import load_bridge
from policy_engine.engine.errors import EngineError
from policy_engine.http.asgi import BodyTooLarge, Request, Response, decoded
from policy_engine.http.opa_errors import body_too_large, opa_error

AUTHZ_QUERY = "data.system.authz.allow"
_MAX_CERTIFICATES = 1024

_BEARER = re.compile(rb"^Bearer\s+(\S+)$")

# OPA's authorizer gives input.body for POSTs to these (version, API) pairs, and to POST /.
_BODY_APIS = {("v0", "data"), ("v1", "data"), ("v1", "compile"), ("v1", "query")}
# The APIs whose handlers resolve the decoded path (OPA splits the others' escaped path).
_DECODED_PREFIXES = ("/v1/policies/", "/v1/compile/")

# The short names Go's pkix.Name uses in RDNSequence.String() (RFC 2253).
_RDN_NAMES = {
    "commonName": "CN",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "streetAddress": "STREET",
    "postalCode": "POSTALCODE",
    "serialNumber": "SERIALNUMBER",
}


def unauthorized(message: str = "request rejected by administrative policy") -> Response:
    return opa_error(401, "unauthorized", message)


class Authorizer:
    def __init__(self, decisions: Decisions, authentication: str, max_body: int) -> None:
        self.decisions = decisions
        self.authentication = authentication
        self.max_body = max_body
        self._certificates_json: dict[bytes, orjson.Fragment] = {}

    async def refusal(self, request: Request) -> Response | None:
        """None when the policy allows the request; else OPA's answer (401, or 500 when the
        policy is missing or undefined)."""
        try:
            input_json = await self._input(request)
        except BodyTooLarge:
            return body_too_large(self.max_body)
        except (ValueError, TypeError, RecursionError, yaml.YAMLError):
            # OPA's authorizer answers a body it cannot read with 400 before any decision.
            return opa_error(400, "invalid_parameter", "body is not a readable JSON or YAML document")
        try:
            decided = await self.decisions.decide(AUTHZ_QUERY, input_json)
        except EngineError as exc:
            return opa_error(500, "internal_error", exc.message)
        if decided.result is None:
            return opa_error(500, "internal_error", "authorization policy missing or undefined")
        return _verdict(orjson.loads(decided.result))

    async def _input(self, request: Request) -> bytes:
        document = {
            "path": input_path(request),
            "method": request.method.upper(),
            "params": parse_qs(request.query.decode("latin-1"), keep_blank_values=True),
            "headers": go_headers(request.scope["headers"]),
        }
        identity = self._identity(request)
        if identity is not None:
            document["identity"] = identity
            if self.authentication == "tls":
                document["client_certificates"] = self._certificates(request.scope["tls_peer_certificate_der"])
        body = b""
        if expects_body(request.method, document["path"]):
            raw = await request.raw_body(self.max_body)
            request.replay(raw)
            encoding = request.header(b"content-encoding")
            body = raw if encoding is None else decoded(raw, encoding, self.max_body)
        if not body:
            return orjson.dumps(document)
        content_type = request.header(b"content-type") or b""
        parsed = yaml.safe_load(body) if b"yaml" in content_type else orjson.loads(body)
        document["body"] = parsed
        return orjson.dumps(document, default=_yaml_value)

    def _certificates(self, der: bytes) -> orjson.Fragment:
        """input.client_certificates, as Go's JSON of the parsed certificates (OPA's), once per certificate."""
        found = self._certificates_json.get(der)
        if found is None:
            if len(self._certificates_json) >= _MAX_CERTIFICATES:
                self._certificates_json.clear()
            found = self._certificates_json[der] = orjson.Fragment(load_bridge().certificates_json([der]))
        return found

    def _identity(self, request: Request) -> str | None:
        if self.authentication == "token":
            header = request.header(b"authorization")
            found = _BEARER.match(header) if header is not None else None
            return found.group(1).decode("latin-1") if found else None
        if self.authentication == "tls":
            certificate = request.scope.get("tls_peer_certificate")
            return subject_name(certificate["subject"]) if certificate else None
        return None


def _yaml_value(value: object) -> object:
    """A YAML set as OPA's YAML reader gives it: an object whose values are null."""
    if isinstance(value, set | frozenset):
        return dict.fromkeys(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _verdict(result: object) -> Response | None:
    """OPA's reading of the decision: true, or {"allowed": true}; {"allowed": false, "reason"} says why."""
    if result is True:
        return None
    if isinstance(result, dict):
        if "allowed" not in result:
            return opa_error(500, "internal_error", "document missing or undefined")
        if result["allowed"] is True:
            return None
        if isinstance(result.get("reason"), str):
            return unauthorized(result["reason"])
    return unauthorized()


def input_path(request: Request) -> list[str]:
    """input.path as OPA splits it: the decoded path for the Policies and Compile APIs, the
    escaped path, segment by segment decoded, for the others (so %2F stays in its segment)."""
    if request.path.startswith(_DECODED_PREFIXES):
        return request.path[1:].split("/")
    raw = request.scope.get("raw_path") or request.path.encode()
    return [unquote(segment) for segment in raw.decode("latin-1")[1:].split("/")]


def expects_body(method: str, path: list[str]) -> bool:
    if method != "POST" or not path:
        return False
    if len(path) == 1:
        return path[0] == ""
    return (path[0], path[1]) in _BODY_APIS


def go_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """Headers as Go's http.Header holds them: canonical names, every value, no Host."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        key = "-".join(part.capitalize() for part in name.decode("latin-1").split("-"))
        if key != "Host":
            out.setdefault(key, []).append(value.decode("latin-1"))
    return out


def subject_name(subject: tuple) -> str:
    """A certificate subject (ssl's getpeercert() form) as Go's RDNSequence.String() writes it."""
    rdns = []
    for rdn in reversed(subject):
        rdns.append("+".join(f"{_RDN_NAMES.get(name, name)}={_escape(value)}" for name, value in rdn))
    return ",".join(rdns)


def _escape(value: str) -> str:
    escaped = "".join("\\" + c if c in ',+"\\<>;' else c for c in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    return escaped[:-1] + "\\ " if escaped.endswith(" ") else escaped
