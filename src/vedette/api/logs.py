"""``GET /api/0/projects/{org}/{project}/logs/``: structured logs, newest first (docs/logs.md).

Parameters: ``query`` (see storage/logs.py), ``statsPeriod`` (``24h`` by default) or
``start``/``end``, ``limit`` (100, at most 1000), ``cursor`` and ``scan`` (how many records a
search on an attribute or a word reads at most, 10,000 by default). The next page is announced
in a ``Link`` header as Sentry's API does (``rel="next"; results="true"; cursor="..."``); a
search that stopped at its scan bound answers fewer rows than ``limit`` with such a link, and
``X-Vedette-Scan: partial``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_response
from vedette.api.performance import parse_api_time
from vedette.api.serialize import iso
from vedette.storage import logs
from vedette.storage.tokens import TokenGrant

_PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_PERIOD_SECONDS = 90 * 86400
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_SCAN = 1_000_000


def time_window(
    params: QueryParams, now: float, default_period: str = "24h"
) -> tuple[float, float]:
    """(start, end) from ``start``/``end`` or ``statsPeriod``; ApiError 400 when unreadable."""
    start_raw, end_raw = params.get("start"), params.get("end")
    if start_raw or end_raw:
        start = parse_api_time(start_raw) if start_raw else None
        end = parse_api_time(end_raw) if end_raw else None
        if start is None or end is None or start >= end:
            raise ApiError(400, "start and end must both be times (ISO 8601), start before end")
        return start, end
    found = _PERIOD.match(params.get("statsPeriod") or default_period)
    if found is None:
        raise ApiError(400, "statsPeriod must look like 24h, 14d, 30m")
    seconds = int(found.group(1)) * _UNIT_SECONDS[found.group(2)]
    if not 0 < seconds <= MAX_PERIOD_SECONDS:
        raise ApiError(400, "statsPeriod must be between 1s and 90d")
    return now - seconds, now


def log_json(row: logs.StoredLog) -> dict[str, Any]:
    return {
        "id": row.log_id,
        "timestamp": iso(row.timestamp),
        "level": row.level,
        "severity_number": row.severity_number,
        "message": row.body,
        "template": row.template,
        "parameters": row.parameters,
        "attributes": {key: typed["value"] for key, typed in row.attributes.items()},
        "attribute_types": {key: typed["type"] for key, typed in row.attributes.items()},
        "trace_id": row.trace_id,
        "span_id": row.span_id,
        "release": row.release,
        "environment": row.environment,
        "sdk": row.sdk,
    }


def positive_int(params: QueryParams, name: str, default: int, most: int) -> int:
    raw = params.get(name, str(default))
    if not raw.isdigit() or int(raw) == 0:
        raise ApiError(400, f"{name} must be a positive integer")
    return min(int(raw), most)


def page_size(params: QueryParams) -> int:
    return positive_int(params, "limit", DEFAULT_LIMIT, MAX_LIMIT)


def scan_size(params: QueryParams) -> int:
    return positive_int(params, "scan", logs.SCAN_ROWS, MAX_SCAN)


def next_link(request: Request, page: logs.LogPage) -> str:
    """Sentry's ``Link`` header: ``results="true"`` and the cursor when there is more to read
    (a full page, or a scan that stopped at its bound)."""
    url = str(request.url.remove_query_params("cursor"))
    if page.next_cursor is None:
        return f'<{url}>; rel="next"; results="false"; cursor=""'
    cursor = logs.format_cursor(page.next_cursor)
    target = request.url.include_query_params(cursor=cursor)
    return f'<{target}>; rel="next"; results="true"; cursor="{cursor}"'


class LogEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        return [Route("/api/0/projects/{org}/{project}/logs/", self._access.wrap(self.logs))]

    async def logs(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        params = request.query_params
        query = logs.parse_log_query(params.get("query", ""))
        if query.problems:
            raise ApiError(400, "; ".join(query.problems))
        start, end = time_window(params, time.time())
        limit, scan = page_size(params), scan_size(params)
        cursor = logs.parse_cursor(params["cursor"]) if params.get("cursor") else None
        if params.get("cursor") and cursor is None:
            raise ApiError(400, "cursor is not one this endpoint gave")
        page = await self._access.read(
            lambda c: logs.search_logs(c, project.id, query, start, end, limit, cursor, scan)
        )
        response = json_response([log_json(r) for r in page.rows])
        response.headers["Link"] = next_link(request, page)
        if page.partial:
            response.headers["X-Vedette-Scan"] = "partial"
        return response
