"""/v1/config answers the configuration OPA would run with for the service's settings, with the
credentials taken out by OPA's own redaction."""

import orjson

from policy_engine.config import Settings
from policy_engine.http.opa_native import opa_config


def config_answered(engine, settings: Settings) -> dict:
    server = engine.opa_server({"bundle_name": "bundle", "config": opa_config(settings)})
    head, body, _ = server.serve({"method": "GET", "target": "/v1/config", "headers": []}, b"")
    assert head["status"] == 200
    return orjson.loads(body)["result"]


def test_a_bundle_server_and_its_token_redacted(engine):
    settings = Settings(bundle="https://bundles.example.com/v1/acgs.tar.gz", bundle_token="t0p-secret")
    config = config_answered(engine, settings)
    assert config["services"]["bundle"]["url"] == "https://bundles.example.com"
    assert config["bundles"]["bundle"]["resource"] == "/v1/acgs.tar.gz"
    assert "t0p-secret" not in orjson.dumps(config).decode()
    assert config["default_decision"] == "/system/main"


def test_a_local_bundle_has_no_services(engine):
    config = config_answered(engine, Settings(bundle="/some/dir"))
    assert "services" not in config
