"""Small stdlib HTTP servers that misbehave as real ones do, for tests (bound to 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OK_REPLY = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "I accept."}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}}


def _handler(mode: str, seen: set[str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _echo(self, status: int) -> None:
            auth = self.headers.get("authorization", "")
            self._send(status, json.dumps({"error": {"message": f"bad request; headers were Authorization: {auth}",
                                                     "type": "invalid_request_error"}}).encode())

        def do_GET(self) -> None:
            if mode == "hang":
                time.sleep(3600)
            elif mode == "html":
                self._send(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
            elif mode == "nodata":
                self._send(200, b'{"models": ["m"]}')
            else:
                self._send(200, b'{"object": "list", "data": [{"id": "m", "object": "model"}]}')

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if mode == "hang":
                time.sleep(3600)
            elif mode == "echo400":
                self._echo(400)
            elif mode == "echo500-once":  # each distinct request fails once, echoing the key, then succeeds
                digest = hashlib.sha256(body).hexdigest()
                if digest in seen:
                    self._send(200, json.dumps(OK_REPLY).encode())
                else:
                    seen.add(digest)
                    self._echo(500)
            elif mode == "slow-first":  # the first request takes 25 s, the rest answer at once
                if not seen:
                    seen.add("first")
                    time.sleep(25)
                self._send(200, json.dumps(OK_REPLY).encode())
            elif mode == "echo500":
                self._echo(500)
            elif mode == "html":
                self._send(200, b"<html>not json</html>", "text/html")
            elif mode == "nodata":
                self._send(200, b'{"answer": "OK"}')
            else:
                self._send(200, json.dumps(OK_REPLY).encode())

    return Handler


@contextmanager
def misbehaving_server(mode: str) -> Iterator[str]:
    """A server in a thread of this process; yields its base URL (``http://127.0.0.1:PORT/v1``).
    Modes: ok, echo400, echo500, echo500-once, slow-first, html, nodata, hang."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode, set()))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
