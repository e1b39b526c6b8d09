"""Serving the explorer: Bokeh's server machinery on 127.0.0.1 only, in the foreground (the
command) or in a thread (tests and benchmarks: :class:`Running`).

The server is put together from Bokeh's public parts (``BaseServer``, ``BokehTornado``, a
Tornado ``HTTPServer``) rather than ``bokeh.server.server.Server``, for one change: every
websocket gets TCP_NODELAY. A redraw is one Bokeh message of several websocket frames;
with Nagle's algorithm on, the later frames wait for the browser's delayed acknowledgement
of the first, which here added some 40 ms to every redraw (Tornado's
``WebSocketHandler.set_nodelay`` documents the effect; Tornado resets the option after the
HTTP upgrade, so it must be set on the websocket itself).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import webbrowser
from typing import Any

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.server.server import BaseServer
from bokeh.server.tornado import BokehTornado
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop

from ..errors import ReformsimError
from .page import build
from .session import Explorer

ADDRESS = "127.0.0.1"     # never another interface: the explorer has no authentication
DEFAULT_PORT = 5006       # Bokeh's own default


def make_server(explorer: Explorer, port: int) -> tuple[Any, int]:
    """A Bokeh server of the explorer's page on ``127.0.0.1:<port>`` (0: any free port), on
    the current thread's IOLoop; returns it and its port."""
    listening = _listen(port)
    port = int(listening.getsockname()[1])
    application = Application(FunctionHandler(lambda doc: build(doc, explorer)))
    tornado_app = NoDelayTornado({"/": application}, extra_websocket_origins=[
        f"{ADDRESS}:{port}", f"localhost:{port}"])
    http_server = HTTPServer(tornado_app)
    http_server.add_sockets([listening])
    return BaseServer(IOLoop.current(), tornado_app, http_server), port


def _listen(port: int) -> socket.socket:
    """A non-blocking socket listening on 127.0.0.1 (closed again if it cannot be opened)."""
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((ADDRESS, port))
        listening.listen(128)
        listening.setblocking(False)
    except OSError as exc:
        listening.close()
        raise ReformsimError(f"cannot serve on {ADDRESS}:{port}: {exc.strerror or exc}"
                             "\n  hint: choose another port with --port") from None
    return listening


class NoDelayTornado(BokehTornado):
    """Bokeh's Tornado application, its websockets without Nagle's algorithm."""

    def new_connection(self, protocol: Any, socket: Any, application_context: Any,
                       session: Any) -> Any:
        socket.set_nodelay(True)
        return super().new_connection(protocol, socket, application_context, session)


def serve(explorer: Explorer, port: int = DEFAULT_PORT, show: bool = True) -> None:
    """Serve until interrupted (Ctrl+C); open a browser tab when ``show``."""
    server, port = make_server(explorer, port)
    server.start()
    if show:
        server.io_loop.add_callback(webbrowser.open_new_tab, f"http://{ADDRESS}:{port}/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


class Running:
    """The explorer served from a thread of this process, on a free port; a context manager.

    >>> with Running(explorer) as running:
    ...     page.goto(running.url)
    """

    def __init__(self, explorer: Explorer, port: int = 0) -> None:
        self.explorer, self.port, self.url = explorer, port, ""
        self._server: Any = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="reformsim-explore", daemon=True)

    def __enter__(self) -> Running:
        self._thread.start()
        self._ready.wait(60)
        if self._failed is not None:
            raise self._failed
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            loop = self._server.io_loop
            loop.add_callback(lambda: (self._server.stop(), loop.stop()))
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())
        try:
            self._server, self.port = make_server(self.explorer, self.port)
            self._server.start()
        except BaseException as exc:   # re-raised in the caller's thread
            self._failed = exc
            self._ready.set()
            return
        self.url = f"http://{ADDRESS}:{self.port}/"
        self._ready.set()
        self._server.io_loop.start()
        self._server.io_loop.close()
