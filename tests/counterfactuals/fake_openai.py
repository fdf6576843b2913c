"""A scripted OpenAI-compatible chat server on 127.0.0.1 for tests.

It binds the loopback interface only, serves at most ``max_requests`` requests and shuts itself
down after ``lifetime_s`` seconds whatever happens. ``script(n, body)`` decides each reply:
("ok", text) | ("status", code, headers) | ("sleep", seconds, text) | ("garbage", bytes) |
("stall", seconds) (hold the request, then answer 503) | ("echo_auth", code) (an error body that
quotes the request's Authorization header, as some proxies do) | ("echo_key", text) (a chat
completion whose reply is ``text``, or the flip, followed by the request's bearer token).
``models`` is what ``GET /v1/models`` lists; ``prompt_tokens`` and ``completion_tokens`` are the
usage every reply reports, and ``usage=False`` leaves usage out of the replies.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FLIPS = {
    "good": "bad",
    "bad": "good",
    "great": "awful",
    "awful": "great",
    "fun": "dull",
    "dull": "fun",
    "boring": "entertaining",
    "entertaining": "boring",
    "love": "hate",
    "hate": "love",
    "loves": "hates",
    "hates": "loves",
    "terrible": "wonderful",
    "brilliant": "tedious",
    "tedious": "brilliant",
    "charming": "tedious",
    "best": "worst",
    "worst": "best",
    "fine": "poor",
    "poor": "fine",
    "weak": "fine",
    "wonderful": "terrible",
    "mess": "delight",
    "delight": "mess",
}


def flip_input(body: dict) -> str:
    """The counterfactual a perfect LLM would write for the last input in the prompt."""
    user = [m["content"] for m in body["messages"] if m["role"] == "user"][0]
    m = re.findall(r"\((?:positive|negative)\): (.*)\nCounterfactual", user)
    text = m[-1] if m else ""
    return " ".join(FLIPS.get(w, w) for w in text.split(" "))


class FakeOpenAI:
    def __init__(
        self,
        script,
        *,
        max_requests: int = 500,
        lifetime_s: float = 60.0,
        prompt_tokens: int = 100,
        completion_tokens: int = 10,
        usage: bool = True,
    ) -> None:
        self.script = script
        self.prompt_tokens, self.completion_tokens, self.usage = (
            prompt_tokens,
            completion_tokens,
            usage,
        )  # what the server reports
        self.models = [{"id": "gpt-4o", "object": "model", "owned_by": "test"}]
        self.max_requests = max_requests
        self.requests: list[dict] = []
        self.ok_bodies: list[str] = []  # canonical request bodies that got a 200 chat completion
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802
                if self.path.rstrip("/").endswith("/models") and server.models is not None:
                    return self._send(200, json.dumps({"object": "list", "data": server.models}).encode())
                return self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                body = json.loads(raw or b"{}")
                with server.lock:
                    n = len(server.requests)
                    server.requests.append(body)
                if n >= server.max_requests:
                    return self._send(503, b'{"error": {"message": "request cap reached"}}')
                action = server.script(n, body)
                kind = action[0]
                if kind == "status":
                    headers = action[2] if len(action) > 2 else {}
                    return self._send(
                        action[1],
                        json.dumps({"error": {"message": f"scripted {action[1]}", "type": "x"}}).encode(),
                        headers,
                    )
                if kind == "echo_auth":
                    message = f"invalid credentials: {self.headers.get('authorization')}"
                    return self._send(action[1], json.dumps({"error": {"message": message, "type": "auth"}}).encode())
                if kind == "garbage":
                    return self._send(200, action[1])
                if kind == "stall":
                    time.sleep(action[1])
                    return self._send(503, b'{"error": {"message": "stalled"}}')
                if kind == "sleep":
                    time.sleep(action[1])
                    action = ("ok", action[2])
                text = action[1] if action[1] is not None else flip_input(body)
                if kind == "echo_key":
                    text += " " + (self.headers.get("authorization") or "").split(" ")[-1]
                reply = {
                    "id": f"chatcmpl-{n}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", "x"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                }
                if server.usage:
                    reply["usage"] = {
                        "prompt_tokens": server.prompt_tokens,
                        "completion_tokens": server.completion_tokens,
                        "total_tokens": server.prompt_tokens + server.completion_tokens,
                    }
                try:
                    self._send(200, json.dumps(reply).encode())
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (timeout); not delivered, so not paid
                with server.lock:
                    server.ok_bodies.append(json.dumps(body, sort_keys=True))

            def _send(self, code: int, payload: bytes, headers: dict | None = None) -> None:
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.killer = threading.Timer(lifetime_s, self.stop)
        self.killer.daemon = True

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        self.killer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.killer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
