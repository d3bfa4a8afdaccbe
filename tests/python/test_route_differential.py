"""Differential test: the gate's route class against the route Starlette (FastAPI's router)
would run for the same request, on generated paths (Hypothesis).

The application sees the path uvicorn decodes (`%61dmin` is `admin`, dot segments are kept)
and Starlette matches it literally; the gate classifies its own normalised form. Whenever
Starlette would run a handler, the gate must either refuse the request outright or put it
in that handler's class: a request can never be authenticated as one class and served by a
handler of another. The first version of this test found `/admin/../status/t1` (a status
route to the gate, the admin catch-all to Starlette); the gate now refuses dot segments.
"""

from __future__ import annotations

from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import PlainTextResponse
from starlette.routing import Match, Route

import inferwarden

API_KEY = "k-live-0123456789abcdef"
CONFIG = inferwarden.PolicyConfig.from_text(
    f'[auth]\napi_keys = ["{API_KEY}"]\nadmin_key = "admin-key-0123456789-abcdef"\n'
)
ROUTE_TABLE = CONFIG.to_dict()["gate"]["routes"]


def starlette_routes() -> list[tuple[Route, str]]:
    """One Starlette route per gate pattern (`/admin/**` is a path catch-all), tagged with
    the gate class the application means it to have."""
    routes = []
    for rule in ROUTE_TABLE:
        method, pattern = rule["pattern"].split(" ", 1)
        path = pattern.replace("/**", "/{rest:path}")

        async def endpoint(request, _cls=rule["class"]):  # pragma: no cover - never served
            return PlainTextResponse(_cls)

        methods = None if method == "*" else [method]
        routes.append((Route(path, endpoint, methods=methods), rule["class"]))
    return routes


ROUTES = starlette_routes()


def starlette_class(method: str, raw_path: str) -> str | None:
    """The class of the handler Starlette would run (the first full match), or None."""
    scope = {"type": "http", "method": method, "path": unquote(raw_path), "root_path": ""}
    for route, cls in ROUTES:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return cls
    return None


SEGMENTS = st.sampled_from(
    [
        "admin", "ADMIN", "%61dmin", "session", "auth", "status", "results", "preview",
        "gallery", "generate", "health", "accounts", "t1", "t.1", ".", "..", "%2e", "%2E%2e",
        ".%2e", "%2f", "", "x;y", "..;", "%00", "%5c", "admin%2fsession",
    ]
)
PATHS = st.lists(SEGMENTS, min_size=1, max_size=6).map(lambda segs: "/" + "/".join(segs))
METHODS = st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"])


@settings(max_examples=3000, deadline=None)
@given(method=METHODS, path=PATHS)
def test_the_gate_never_classifies_a_path_other_than_starlette_would_run_it(method, path):
    served = starlette_class(method, path)
    if served is None:
        return
    gate = inferwarden.Gate(CONFIG)
    decision = gate.decide(method, path, headers=[("X-API-Key", API_KEY)])
    if decision.error is not None and getattr(decision.error, "code", "") == "validation_error":
        assert decision.error.metadata.get("rule") == "dot_segment"
        return
    assert gate.classify(method, path) == served, (method, path)


def test_the_case_that_was_found():
    gate = inferwarden.Gate(CONFIG)
    assert starlette_class("GET", "/admin/../status/t1") == "admin"
    decision = gate.decide("GET", "/admin/../status/t1", headers=[("X-API-Key", API_KEY)])
    assert not decision.allowed
    assert decision.error.code == "validation_error"
