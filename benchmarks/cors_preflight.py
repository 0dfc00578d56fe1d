"""How often Chromium sends a CORS preflight for a page's token-carrying POSTs, by the server's
answer to the preflight (why every browser-turso op costs two round trips; docs/browser.md).

    python benchmarks/cors_preflight.py [--requests 5]

A loopback server answers preflights three ways: `access-control-allow-headers: *` (as sqld
does), the same with `access-control-max-age: 600`, and the header names spelled out. A page
from another loopback origin sends the POSTs with `Authorization` and a JSON body, one after
another, in the system Chromium; the server counts the OPTIONS requests it sees.
"""

from __future__ import annotations

import argparse
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from storebench.backends.browser import CHROMIUM_FLAGS, chromium, chromium_path

ANSWERS = {  # path: the preflight's headers beyond allow-origin and allow-methods
    "/wildcard": {"access-control-allow-headers": "*"},
    "/wildcard-max-age": {"access-control-allow-headers": "*", "access-control-max-age": "600"},
    "/named": {"access-control-allow-headers": "authorization, content-type"},
}
SEND = """async ([url, n]) => {
  for (let i = 0; i < n; i++) {
    await fetch(url, {method: 'POST', headers: {'content-type': 'application/json', authorization: 'Bearer x'},
                      body: '{}'});
  }
}"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    preflights: dict[str, int] = {}

    def log_message(self, *args) -> None:
        pass

    def _answer(self, headers: dict[str, str], body: bytes = b"") -> None:
        self.send_response(200)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self) -> None:
        Handler.preflights[self.path] = Handler.preflights.get(self.path, 0) + 1
        self._answer({"access-control-allow-origin": "*", "access-control-allow-methods": "*", **ANSWERS[self.path]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self._answer({"access-control-allow-origin": "*", "content-type": "application/json"}, b"{}")

    def do_GET(self) -> None:  # the page, on the other origin
        self._answer({"content-type": "text/html"}, b"<html><body>page</body></html>")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5)
    args = parser.parse_args()
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]  # the API, the page
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    api, page_server = (f"http://127.0.0.1:{s.server_port}" for s in servers)
    try:
        with chromium() as browser:
            page = browser.new_page()
            page.goto(page_server)
            for path in ANSWERS:
                page.evaluate(SEND, [api + path, args.requests])
            version = page.evaluate("navigator.userAgent")
    finally:
        for server in servers:
            server.shutdown()
    print(f"{chromium_path()} ({version}), flags {' '.join(CHROMIUM_FLAGS)}")
    print("| preflight answer | POSTs with Authorization | preflights seen |\n|---|---|---|")
    for path, headers in ANSWERS.items():
        answer = ", ".join(f"{k}: {v}" for k, v in headers.items())
        print(f"| {answer} | {args.requests} | {Handler.preflights.get(path, 0)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
