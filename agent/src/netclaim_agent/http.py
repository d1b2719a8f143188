"""The agent's HTTP endpoint on 127.0.0.1: `/healthz` and Prometheus `/metrics`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from netclaim_agent.metrics import REGISTRY

log = logging.getLogger(__name__)


class HealthServer:
    """Serves `/healthz` (200 once `ready()` is true, 503 before) and `/metrics`.

    `port` 0 picks a free port (see `bound_port`); the address must be a loopback one."""

    def __init__(
        self, ready: Callable[[], bool], address: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._ready = ready
        handler = self._handler_class()
        self._server = ThreadingHTTPServer((address, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def bound_port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()
        log.info("serving /healthz and /metrics on 127.0.0.1:%d", self.bound_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        ready = self._ready

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    ok = ready()
                    self._reply(
                        200 if ok else 503, b"ok\n" if ok else b"not registered\n", "text/plain"
                    )
                elif self.path == "/metrics":
                    self._reply(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
                else:
                    self._reply(404, b"not found\n", "text/plain")

            def _reply(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds would drown the agent's log

        return Handler
