"""An online endpoint's router: its one ``scoring_uri`` in front of its deployments' servers.

``python -m cirrusml.serving._router --config ROUTER.json`` (a :class:`RouterConfig`). For
``POST /score``, in order:

1. the key (``Authorization: Bearer <key>``, the endpoint's primary or secondary key) is
   checked: 401 when missing or wrong;
2. the body is read up to ``max_request_bytes``: 413 past it;
3. the deployment is the one the ``azureml-model-deployment`` header names (404 if there is no
   such deployment), else one drawn at random with the weights of ``traffic`` (404 when every
   weight is 0, as Azure answers);
4. without the header, each deployment of ``mirror_traffic`` gets a copy of the request with
   its share as the probability; its answer is not waited for and not returned;
5. the request goes to the chosen deployment's server (with that server's own key), and its
   answer comes back as it is, with the header ``azureml-model-deployment`` naming who answered.
   A server that cannot be reached is a 502, one that does not answer in time a 504.

The endpoint (keys, traffic, deployments and their ports) is read from the workspace's endpoint
store, and read again whenever its files change: new keys, traffic or deployments take effect
on the next request, with no restart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cirrusml.exceptions import CirrusMLError
from cirrusml.serving._app import _authorize, _read_body
from cirrusml.serving._errors import ScoringError
from cirrusml.serving._server import _exit, _forget, _log_config, _write_json, local_url
from cirrusml.spec import RouterConfig
from cirrusml.tracking import EndpointStore, Workspace

__all__ = ["DEPLOYMENT_HEADER", "Routes", "create_router_app", "main", "serve_router"]

#: The header that names a deployment, in a request (to pick it) and in an answer (who answered).
DEPLOYMENT_HEADER = "azureml-model-deployment"
#: Time past a deployment's own request timeout before the router gives up on it.
_GRACE_SECONDS = 2.0
_ROUTES = "GET / (liveness), GET /health (readiness), POST /score"

logger = logging.getLogger("cirrusml.serving")


@dataclass(frozen=True)
class _Target:
    url: str
    key: str
    timeout: float


@dataclass(frozen=True)
class Routes:
    """The endpoint as the router last read it."""

    keys: list[bytes] = field(default_factory=list)
    traffic: dict[str, int] = field(default_factory=dict)
    mirror_traffic: dict[str, int] = field(default_factory=dict)
    targets: dict[str, _Target] = field(default_factory=dict)

    def pick(self, draw: float) -> str | None:
        """The deployment that ``draw`` (uniform in [0, 1)) falls on, by traffic weight."""
        total = sum(self.traffic.values())
        if total <= 0:
            return None
        point = draw * total
        for name, weight in self.traffic.items():
            if point < weight:
                return name
            point -= weight
        return next(n for n, w in reversed(self.traffic.items()) if w > 0)


class _EndpointView:
    """The endpoint's routes, read again from the store when its files change."""

    def __init__(self, store: EndpointStore, name: str) -> None:
        self.store = store
        self.name = name
        self._signature: tuple[int, ...] | None = None
        self._routes = Routes()
        self._lock = threading.Lock()

    def current(self) -> Routes:
        signature = self.store.signature(self.name)
        if signature != self._signature:
            with self._lock:
                try:
                    self._routes = self._read()
                    self._signature = signature
                    logger.info("routes read: traffic %s, mirror %s", self._routes.traffic,
                                self._routes.mirror_traffic)
                except (CirrusMLError, OSError, ValueError) as error:
                    # A file being replaced, or a deleted endpoint: keep the last routes.
                    logger.warning("could not read the endpoint's routes: %s", error)
        return self._routes

    def _read(self) -> Routes:
        record = self.store.read(self.name)
        keys = self.store.read_keys(self.name)
        targets = {}
        for name, deployment in record.deployments.items():
            process, key = deployment.process, keys.deployment_keys.get(name)
            if process is None or key is None:
                continue
            timeout_ms = (deployment.entity.get("request_settings") or {}).get(
                "request_timeout_ms", 5000)
            targets[name] = _Target(local_url(process.host, process.port) + "/score", key,
                                    timeout_ms / 1000 + _GRACE_SECONDS)
        auth = record.entity.get("auth_mode", "key")
        endpoint_keys = [keys.primary_key, keys.secondary_key] if auth == "key" else []
        return Routes(keys=[k.encode() for k in endpoint_keys if k],
                      traffic=dict(record.traffic), mirror_traffic=dict(record.mirror_traffic),
                      targets=targets)


def create_router_app(config: RouterConfig) -> FastAPI:
    """The router's app for ``config``'s endpoint."""
    view = _EndpointView(EndpointStore(Workspace(config.workspace)), config.endpoint_name)
    executor = ThreadPoolExecutor(32, thread_name_prefix="cirrus-route")
    local = threading.local()
    chance = random.Random()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def forward(name: str, target: _Target, body: bytes, content_type: str
                ) -> tuple[int, bytes, str]:
        headers = {"Authorization": f"Bearer {target.key}", "Content-Type": content_type}
        try:
            answer = session().post(target.url, data=body, headers=headers,
                                    timeout=target.timeout)
        except requests.Timeout:
            raise ScoringError(504, "DeploymentTimeout",
                               f"deployment '{name}' did not answer within "
                               f"{target.timeout:g} s.") from None
        except requests.RequestException:
            raise ScoringError(
                502, "DeploymentUnavailable",
                f"deployment '{name}' of endpoint '{config.endpoint_name}' is not running. "
                "`cirrus online-endpoint restart -n "
                f"{config.endpoint_name}` (or ml_client.online_endpoints.invoke) starts it "
                "again.") from None
        return (answer.status_code, answer.content,
                answer.headers.get("content-type", "application/json"))

    def mirror(name: str, target: _Target, body: bytes, content_type: str) -> None:
        try:
            status, _, _ = forward(name, target, body, content_type)
            if status >= 400:
                logger.info("mirror to %s -> %d", name, status)
        except ScoringError as error:
            logger.info("mirror to %s failed: %s", name, error.message)

    app = FastAPI(title="cirrusml endpoint router", docs_url=None, redoc_url=None,
                  openapi_url=None)

    @app.get("/", response_class=PlainTextResponse)
    async def liveness() -> str:
        return "Healthy"

    @app.get("/health")
    async def readiness() -> dict[str, Any]:
        routes = view.current()
        return {"status": "Healthy", "endpoint": config.endpoint_name,
                "traffic": routes.traffic, "mirror_traffic": routes.mirror_traffic}

    @app.post("/score")
    async def score(request: Request) -> Response:
        routes = view.current()
        if routes.keys:
            _authorize(request, routes.keys)
        body = await _read_body(request, config.max_request_bytes)
        content_type = request.headers.get("content-type", "application/json")
        chosen = request.headers.get(DEPLOYMENT_HEADER)
        if chosen:
            if chosen not in routes.targets:
                known = ", ".join(sorted(routes.targets)) or "none yet"
                raise ScoringError(404, "DeploymentNotFound",
                                   f"endpoint '{config.endpoint_name}' has no deployment "
                                   f"'{chosen}' (the {DEPLOYMENT_HEADER} header); its "
                                   f"deployments: {known}.")
        else:
            chosen = routes.pick(chance.random())
            if chosen is None or chosen not in routes.targets:
                raise ScoringError(404, "NoTrafficDeployment",
                                   f"endpoint '{config.endpoint_name}' has no deployment with "
                                   "traffic; set its traffic (cirrus online-endpoint update "
                                   "--traffic \"<deployment>=100\"), or name a deployment in "
                                   f"the {DEPLOYMENT_HEADER} header.")
            for name, share in routes.mirror_traffic.items():
                if name in routes.targets and chance.random() * 100 < share:
                    executor.submit(mirror, name, routes.targets[name], body, content_type)
        loop = asyncio.get_running_loop()
        status, content, media_type = await loop.run_in_executor(
            executor, forward, chosen, routes.targets[chosen], body, content_type)
        return Response(content, status_code=status, media_type=media_type,
                        headers={DEPLOYMENT_HEADER: chosen})

    @app.exception_handler(ScoringError)
    async def refused(request: Request, error: ScoringError) -> JSONResponse:
        logger.info("%s %s -> %d %s", request.method, request.url.path, error.status,
                    error.code)
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error.body(), status_code=error.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(error.status_code, "HttpError")
        return JSONResponse({"error": {"code": code, "message": f"{request.method} "
                                       f"{request.url.path}: {error.detail}; routes: "
                                       f"{_ROUTES}."}},
                            status_code=error.status_code, headers=error.headers)

    return app


def serve_router(config: RouterConfig) -> None:
    """Run the router until the process is told to stop (SIGTERM or SIGINT)."""
    import uvicorn

    settings = uvicorn.Config(create_router_app(config), host=config.host, port=config.port,
                              log_config=_log_config(config.log_file), access_log=False,
                              server_header=False, timeout_graceful_shutdown=5)
    sock = settings.bind_socket()
    port = int(sock.getsockname()[1])
    if config.state_file:
        _write_json(Path(config.state_file), {"pid": os.getpid(), "host": config.host,
                                               "port": port,
                                               "url": local_url(config.host, port)})
    signal.signal(signal.SIGTERM, _exit)
    try:
        uvicorn.Server(settings).run(sockets=[sock])
    finally:
        sock.close()
        if config.state_file:
            _forget(Path(config.state_file))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cirrusml.serving._router",
                                     description="Run an online endpoint's router.")
    parser.add_argument("--config", required=True, help="a JSON file of RouterConfig fields")
    args = parser.parse_args(argv)
    try:
        serve_router(RouterConfig.from_file(args.config))
    except CirrusMLError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
