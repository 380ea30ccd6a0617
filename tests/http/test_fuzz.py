"""Property-based fuzz of every endpoint: whatever the request, never a 5xx."""

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
actions = st.sampled_from(["data.read", "model.train", "evolve_agent", "execute_in_sandbox", "require_human_review"])
acgs_bodies = st.fixed_dictionaries(
    {},
    optional={
        "action": actions | json_values,
        "agent_id": st.text(max_size=10) | json_values,
        "input_data": st.dictionaries(st.sampled_from(["memory_mb", "risk_score", "fitness_improvement"]), json_values)
        | json_values,
        "context": st.dictionaries(st.sampled_from(["agent", "environment", "explanation"]), json_values) | json_values,
    },
)
paths = st.lists(
    st.sampled_from(["acgs", "constitutional", "evaluate", "config", "x", "ü", "a b", "%20", ""]), max_size=4
)
bodies = st.one_of(acgs_bodies.map(orjson.dumps), json_values.map(orjson.dumps), st.binary(max_size=64))
requests = st.one_of(
    st.tuples(st.just("POST"), st.sampled_from(["/v1/evaluate", "/api/v1/evaluate"]), bodies),
    st.tuples(st.sampled_from(["GET", "POST"]), paths.map(lambda p: "/v1/data/" + "/".join(p)), bodies),
    st.tuples(st.just("POST"), paths.map(lambda p: "/v0/data/" + "/".join(p)), bodies),
    st.tuples(st.just("POST"), st.just("/v1/compile"), bodies),
    st.tuples(
        st.just("POST"),
        st.just("/v1/batch/evaluate"),
        st.lists(acgs_bodies, max_size=5).map(lambda r: orjson.dumps({"requests": r})) | bodies,
    ),
    st.tuples(
        st.just("POST"),
        paths.map(lambda p: "/v1/batch/data/" + "/".join(p)),
        st.dictionaries(st.text(max_size=4), json_values, max_size=4).map(lambda i: orjson.dumps({"inputs": i}))
        | bodies,
    ),
    st.tuples(
        st.sampled_from(["GET", "PUT", "DELETE"]), st.sampled_from(["/health", "/ready", "/v1/evaluate", "/x"]), bodies
    ),
)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(request=requests)
def test_no_request_gets_a_5xx(http, request):
    method, path, body = request
    response = http.request(method, path, content=body if method != "GET" else None)
    assert response.status_code < 500, (method, path, body, response.text)
    if path.endswith("/evaluate") and path.startswith(("/v1/evaluate", "/api")) and response.status_code == 200:
        decision = response.json()
        assert type(decision["allow"]) is bool
        assert decision["allow"] == (decision["violations"] == [])
