"""What every JSON API handler shares: the error that carries its status, and JSON in and out."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def json_response(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


# Any JSON body of the API: a debug-file assemble call for hundreds of files is the largest.
MAX_JSON_BYTES = 4 * 1024 * 1024


async def bounded_body(request: Request, limit: int) -> bytes:
    """The body, read until it passes ``limit`` bytes (then a 413): never all of a huge one."""
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise ApiError(413, f"the request is larger than {limit} bytes")
    return bytes(body)


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``), or a 400 (413 past
    ``MAX_JSON_BYTES``)."""
    try:
        payload = orjson.loads(await bounded_body(request, MAX_JSON_BYTES) or b"{}")
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "body is not JSON") from exc
    if not isinstance(payload, dict):
        raise ApiError(400, "body must be a JSON object")
    return payload
