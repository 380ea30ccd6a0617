"""The floor: the service's server stack (uvicorn, uvloop, httptools) with a handler that does no
policy work. It reads the body and answers a fixed decision of the same size. HTTP tails of
the real service are quoted next to this one's, measured in the same run."""

from typing import Any

ANSWER = (
    b'{"allow":true,"violations":[],"reason":"Safe action permitted","confidence_score":1.0,'
    b'"policy_version":"1.0.0","rule":"safe","evaluation_time_ms":0,"evaluation_time_us":1.0,'
    b'"cache_hit":true,"decision_id":"00000000-0000-4000-8000-000000000000"}'
)
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]


async def app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            kind = message["type"].rsplit(".", 1)[1]
            await send({"type": f"lifespan.{kind}.complete"})
            if kind == "shutdown":
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})
