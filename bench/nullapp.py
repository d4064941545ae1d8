"""The HTTP ceiling: apps that read the request body and answer 200, served exactly as
`vedette serve` serves Vedette (uvicorn.run with the same options; uvloop and httptools come
with uvicorn[standard] for both).

    uv run python bench/nullapp.py --port 9000 --app asgi       # bare ASGI callable
    uv run python bench/nullapp.py --port 9000 --app starlette  # one Starlette route

``asgi`` is what uvicorn itself costs; ``starlette`` adds the framework's routing and
request/response objects that Vedette's handlers also pay for.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_BODY = b'{"id":"00000000000000000000000000000000"}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))]


async def null_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:  # read the whole body, as ingest must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


async def _envelope(request: Request) -> Response:
    await request.body()
    return Response(_BODY, media_type="application/json")


null_starlette = Starlette(
    routes=[
        Route("/api/{project_id}/envelope/", _envelope, methods=["POST"]),
        Route("/_health/", lambda _r: Response(b"{}", media_type="application/json")),
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", choices=["asgi", "starlette"], default="asgi")
    args = parser.parse_args()
    app = null_asgi if args.app == "asgi" else null_starlette
    # The options of `vedette serve` (src/vedette/cli.py cmd_serve).
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
