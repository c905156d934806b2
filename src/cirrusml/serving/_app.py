"""The FastAPI app of one scoring server: the probes, ``POST /score`` and the error answers.

Who does what for ``POST /score``, in order:

1. the key (``Authorization: Bearer <key>``) is checked: 401 when missing or wrong;
2. the body is read up to ``max_request_bytes``: 413 past it;
3. :class:`Admission` lets the request wait for a scoring thread, or answers 429 when
   ``2 * max_concurrent_requests_per_instance`` requests are already in (Azure's rule);
4. a thread answers it: the scorer (:class:`Scorer` for an MLflow model, ``ScriptScorer`` for
   a scoring script) parses, checks and scores the body, and encodes the JSON;
5. an answer not ready within ``request_timeout_ms`` of the request's arrival is a 408.

Any refusal is ``{"error": {"code", "message"}}``; an unexpected failure is a 500 whose message
gives an error id that the server log has, with the traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cirrusml.serving._config import ServerConfig
from cirrusml.serving._errors import ScoringError
from cirrusml.serving._scorer import RequestScorer

__all__ = ["Admission", "create_app"]

logger = logging.getLogger("cirrusml.serving")

#: The routes, for the 404 answer.
_ROUTES = "GET / (liveness), GET /health (readiness), POST /score"


class Admission:
    """Counts the requests in one worker (waiting or scoring) and refuses past ``limit``.

    Event-loop only (no locks): :meth:`enter` when a request arrives, :meth:`leave` when its
    scoring thread ends (not when its answer is sent: a timed-out request still holds its place
    until the model returns).
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.inside = 0

    def enter(self) -> bool:
        if self.inside >= self.limit:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


def create_app(scorer: RequestScorer, config: ServerConfig) -> FastAPI:
    """The app serving ``scorer`` with ``config``'s keys and request settings."""
    keys = [k.encode() for k in config.keys]
    timeout = config.request_timeout_ms / 1000
    limit = config.max_request_bytes
    admission = Admission(2 * config.max_concurrent_requests_per_instance)
    executor = ThreadPoolExecutor(config.max_concurrent_requests_per_instance,
                                  thread_name_prefix="cirrus-score")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logger.info("serving %s (methods: %s; %s)", scorer.name, ", ".join(scorer.methods),
                    "key auth" if keys else "no auth")
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="cirrusml scoring", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.admission = admission

    def work(body: bytes, deadline: float) -> bytes | None:
        if time.monotonic() >= deadline:
            return None  # it waited out its time; the caller has had its 408
        try:
            return scorer.answer(body)
        except ScoringError:
            raise
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            logger.exception("scoring failed (error id %s)", error_id)
            raise ScoringError(500, "InternalServerError",
                               f"the server failed to score the request (error id {error_id}); "
                               "the server log has the details.") from None

    @app.get("/", response_class=PlainTextResponse)
    async def liveness() -> str:
        return "Healthy"

    @app.get("/health")
    async def readiness() -> dict[str, Any]:
        return {"status": "Healthy", "model": scorer.name, "methods": list(scorer.methods)}

    @app.post("/score")
    async def score(request: Request) -> Response:
        arrived = time.monotonic()
        if keys:
            _authorize(request, keys)
        body = await _read_body(request, limit)
        if not admission.enter():
            raise ScoringError(
                429, "TooManyRequests",
                f"the server is already handling {admission.limit} requests (twice "
                "max_concurrent_requests_per_instance); retry later, with backoff.")
        deadline = arrived + timeout
        future = asyncio.get_running_loop().run_in_executor(executor, work, body, deadline)
        future.add_done_callback(_settled(admission))
        try:
            content = await asyncio.wait_for(asyncio.shield(future),
                                             max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise ScoringError(
                408, "RequestTimeout",
                f"the request took longer than request_timeout_ms ({config.request_timeout_ms} "
                "ms); send fewer rows per request, or raise request_timeout_ms.") from None
        if content is None:  # pragma: no cover - the deadline passed as the thread started
            raise ScoringError(408, "RequestTimeout", "the request timed out in the queue.")
        return Response(content, media_type="application/json")

    @app.exception_handler(ScoringError)
    async def refused(request: Request, error: ScoringError) -> JSONResponse:
        if error.status < 500:
            logger.info("%s %s -> %d %s", request.method, request.url.path, error.status,
                        error.code)
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            code, message = "NotFound", f"no route {request.url.path!r}; routes: {_ROUTES}."
        elif error.status_code == 405:
            code, message = ("MethodNotAllowed", f"{request.method} is not allowed on "
                             f"{request.url.path!r}; routes: {_ROUTES}.")
        else:
            code, message = "HttpError", str(error.detail)
        return JSONResponse({"error": {"code": code, "message": message}},
                            status_code=error.status_code, headers=error.headers)

    return app


def _settled(admission: Admission) -> Any:
    def done(future: asyncio.Future[Any]) -> None:
        admission.leave()
        if not future.cancelled():
            future.exception()  # retrieved here, so that a timed-out failure is not reported
    return done


def _authorize(request: Request, keys: list[bytes]) -> None:
    header = request.headers.get("authorization")
    if not header:
        raise ScoringError(401, "Unauthorized",
                           "this endpoint needs a key: send the header "
                           "'Authorization: Bearer <key>' with the primary or secondary key.")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ScoringError(401, "Unauthorized",
                           "the Authorization header must read 'Bearer <key>'.")
    presented = token.strip().encode()
    # Compare with every key, so that the time taken does not tell which one nearly matched.
    matches = [hmac.compare_digest(presented, key) for key in keys]
    if not any(matches):
        raise ScoringError(401, "Unauthorized",
                           "the key is not valid for this endpoint; use its primary or "
                           "secondary key.")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ScoringError(400, "InvalidContentLength",
                               f"the Content-Length header {declared!r} is not a number.")
        if int(declared) > limit:
            raise _too_large(f"{int(declared)} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"over {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(size: str, limit: int) -> ScoringError:
    return ScoringError(413, "PayloadTooLarge",
                        f"the request body ({size}) is larger than the server's "
                        f"limit of {limit} bytes (max_request_bytes); split the rows over "
                        "several requests.")
