"""Loopback HTTP(S) servers that uptime monitors check in tests.

``Site`` answers from a script of ``Reply`` (the alerts tests' receiver), can go down (its port
then refuses connections) and come back on the same port, and, given a certificate, speaks TLS.
"""

from __future__ import annotations

import ssl
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.alerts.receivers import LOOPBACK, HttpReceiver, Reply

__all__ = ["Reply", "Site"]


class Site(HttpReceiver):
    def __init__(
        self, default: Reply | None = None, certificate: tuple[Path, Path] | None = None
    ) -> None:
        super().__init__(default)
        self._certificate = certificate
        self._port = super().port
        if certificate:
            self._wrap(self._server)

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        scheme = "https" if self._certificate else "http"
        host = "localhost" if self._certificate else LOOPBACK
        return f"{scheme}://{host}:{self._port}"

    def go_down(self) -> None:
        """Close the listening socket: connections are refused until ``come_back``."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def come_back(self) -> None:
        handler = self._server.RequestHandlerClass
        self._server = ThreadingHTTPServer((LOOPBACK, self._port), handler)
        self._server.daemon_threads = True
        if self._certificate:
            self._wrap(self._server)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def renew(self, certificate: tuple[Path, Path]) -> None:
        """Serve another certificate on the same port."""
        self.go_down()
        self._certificate = certificate
        self.come_back()

    def _wrap(self, server: ThreadingHTTPServer) -> None:
        assert self._certificate is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*self._certificate)
        server.socket = context.wrap_socket(server.socket, server_side=True)

    def __enter__(self) -> Self:
        super().__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread.is_alive():
            super().__exit__(kind, error, tb)
