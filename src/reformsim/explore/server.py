"""Serving the explorer: a Bokeh server on 127.0.0.1 only, in the foreground (the command)
or in a thread (tests and benchmarks: :class:`Running`)."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from ..errors import ReformsimError
from .session import Explorer

ADDRESS = "127.0.0.1"     # never another interface: the explorer has no authentication
DEFAULT_PORT = 5006       # Bokeh's own default


def make_server(explorer: Explorer, port: int) -> Any:
    """A Bokeh server of the explorer's page at ``http://127.0.0.1:<port>/``."""
    from bokeh.application import Application
    from bokeh.application.handlers.function import FunctionHandler
    from bokeh.server.server import Server

    from .page import build

    application = Application(FunctionHandler(lambda doc: build(doc, explorer)))
    try:
        return Server({"/": application}, port=port, address=ADDRESS,
                      allow_websocket_origin=[f"{ADDRESS}:{port}", f"localhost:{port}"])
    except OSError as exc:
        raise ReformsimError(f"cannot serve on {ADDRESS}:{port}: {exc.strerror or exc}"
                             "\n  hint: choose another port with --port") from None


def serve(explorer: Explorer, port: int = DEFAULT_PORT, show: bool = True) -> None:
    """Serve until interrupted (Ctrl+C); open a browser tab when ``show``."""
    server = make_server(explorer, port)
    server.start()
    if show:
        server.io_loop.add_callback(server.show, "/")
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind((ADDRESS, 0))
        return int(probe.getsockname()[1])


class Running:
    """The explorer served from a thread of this process; a context manager.

    >>> with Running(explorer) as running:
    ...     page.goto(running.url)
    """

    def __init__(self, explorer: Explorer, port: int = 0) -> None:
        self.explorer, self.port = explorer, port or free_port()
        self.url = f"http://{ADDRESS}:{self.port}/"
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
            self._server = make_server(self.explorer, self.port)
            self._server.start()
        except BaseException as exc:   # re-raised in the caller's thread
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        self._server.io_loop.start()
        self._server.io_loop.close()
