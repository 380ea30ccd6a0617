"""Batch APIs: many decisions in one request, decided together (their misses share engine calls).

POST /v1/batch/evaluate     {"requests": [ACGS request, ...]} -> {"responses": [...]}, in order
POST /v1/batch/data/{path}  EOPA's batch Data API: {"inputs": {id: input}, "common_input": {...}}
"""

import asyncio
import time
from typing import Any

import msgspec
import orjson

from policy_engine import jsontext
from policy_engine.decisions import Decisions
from policy_engine.engine.errors import CompileError, InvalidInput
from policy_engine.http.acgs_endpoints import AcgsEndpoints, too_large, unprocessable
from policy_engine.http.acgs_request import RequestInvalid, not_json, parse_evaluate_request
from policy_engine.http.asgi import BodyTooLarge, Request, Response, json_response
from policy_engine.http.failures import public_message
from policy_engine.http.ids import decision_id
from policy_engine.http.opa_endpoints import body_too_large, decode_document, opa_error, query_for_path


class _BatchEvaluate(msgspec.Struct):
    requests: list[msgspec.Raw]


class _BatchData(msgspec.Struct):
    inputs: dict[str, msgspec.Raw]
    common_input: msgspec.Raw = msgspec.Raw()


_batch_evaluate = msgspec.json.Decoder(_BatchEvaluate)
_batch_data = msgspec.json.Decoder(_BatchData)


def merged_input(common: bytes, own: bytes) -> bytes:
    """An item's input over the common input, with every number kept as written."""
    if not common:
        return own
    return jsontext.exact_dumps(merged(jsontext.exact_loads(common), jsontext.exact_loads(own)))


def merged(common: Any, own: Any) -> Any:
    """`own` over `common`, object by object; anything else in `own` wins whole."""
    if type(common) is not dict or type(own) is not dict:
        return own
    out = dict(common)
    for key, value in own.items():
        out[key] = merged(common.get(key), value) if key in common else value
    return out


class BatchEndpoints:
    def __init__(self, acgs: AcgsEndpoints, decisions: Decisions, max_body: int, max_items: int) -> None:
        self.acgs = acgs
        self.decisions = decisions
        self.max_body = max_body
        self.max_items = max_items

    def _too_many(self, count: int) -> Response:
        return json_response(413, {"detail": f"{count} items in one batch; the limit is {self.max_items}"})

    async def evaluate(self, request: Request) -> Response:
        try:
            items = jsontext.decode(await request.body(self.max_body), _batch_evaluate)[0].requests
        except BodyTooLarge:
            return too_large(self.max_body)
        except msgspec.ValidationError as exc:
            loc = ["body", "requests"] if "requests" in str(exc) else ["body"]
            return unprocessable(
                [{"loc": loc, "msg": "a list of evaluate requests is required", "type": "type_error.list"}]
            )
        except jsontext.DecodeError as exc:
            return unprocessable(not_json(exc).errors)
        if len(items) > self.max_items:
            return self._too_many(len(items))
        responses = await asyncio.gather(*(self._one(item) for item in items))
        return Response(200, b'{"responses":[' + b",".join(responses) + b"]}")

    async def _one(self, item: msgspec.Raw) -> bytes:
        try:
            parsed = parse_evaluate_request(bytes(item))
        except RequestInvalid as exc:
            return orjson.dumps({"error": {"status": 422, "detail": exc.errors}})
        started = time.perf_counter_ns()
        identifier = decision_id()
        outcome = await self.acgs.decide(parsed, identifier)
        elapsed_ns = time.perf_counter_ns() - started
        self.acgs.count(outcome, elapsed_ns)
        return self.acgs.response_body(outcome, elapsed_ns, identifier)

    async def data(self, request: Request, path: str) -> Response:
        try:
            body = decode_document(await request.body(self.max_body), _batch_data)
        except BodyTooLarge:
            return body_too_large(self.max_body)
        except InvalidInput:
            return opa_error(400, "invalid_parameter", "body must be an object with an inputs object")
        inputs = body.inputs
        if len(inputs) > self.max_items:
            return opa_error(
                413, "invalid_parameter", f"{len(inputs)} inputs in one batch; the limit is {self.max_items}"
            )
        common = bytes(body.common_input)
        common = b"" if common == b"null" else common
        query = query_for_path(path)
        results = await asyncio.gather(*(self._decide(query, common, bytes(own)) for own in inputs.values()))
        responses = dict(zip(inputs, results, strict=True))
        failed = any("code" in r for r in responses.values())
        document = {"batch_decision_id": decision_id(), "responses": responses}
        return json_response(207 if failed else 200, document)

    async def _decide(self, query: str, common: bytes, own: bytes) -> dict:
        """One item's response; its failure is its own (the others are answered as if alone)."""
        try:
            decided = await self.decisions.decide(query, merged_input(common, own))
        except CompileError as exc:
            return {"code": "invalid_parameter", "message": exc.message, "http_status_code": "400"}
        except (InvalidInput, ValueError, RecursionError) as exc:
            message = exc.message if isinstance(exc, InvalidInput) else f"invalid input: {exc}"
            return {"code": "invalid_parameter", "message": message, "http_status_code": "400"}
        except Exception as exc:  # this item's failure; an internal one is logged, not shown
            return {"code": "internal_error", "message": public_message(exc, decision_id()), "http_status_code": "500"}
        response: dict[str, Any] = {"decision_id": decision_id()}
        if decided.result is not None:
            response["result"] = orjson.Fragment(decided.result)
        return response
