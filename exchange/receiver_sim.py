"""A stand-in for the upper platform's receiving end, for tests and demos: an HTTP server that stores each record it
accepts and can be told to be down (connection refused), to answer 500 or 4xx, or to be slow.

It keeps every arrival in order (``arrivals``: record ids, duplicates included) and the records by id (``records``),
so a test can count what reached it and what came twice. ``python -m exchange.receiver_sim --port 8790`` runs it
on its own and prints what arrives."""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20


class ReceiverSim:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, token: str = ""):
        self.host, self.token = host, token
        self.lock = threading.Lock()
        self.arrivals: list[str] = []  # every accepted POST's record id, in arrival order
        self.records: dict[str, dict] = {}  # record id → the record
        self.fail_next: list[int] = []  # statuses to answer the next POSTs with, one each
        self.delay_s = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._clients: set[socket.socket] = set()  # open connections, cut when the receiver goes down
        self.port = port
        self.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/records"

    def start(self) -> None:
        """Listen (again, on the same port after ``stop``)."""
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway
            disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart (delayed ACK)

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with sim.lock:
                    sim._clients.add(self.connection)

            def finish(self):
                with sim.lock:
                    sim._clients.discard(self.connection)
                super().finish()

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    return self._answer(413, {"error": "too large"})
                body = self.rfile.read(length)
                if sim.token and self.headers.get("Authorization") != f"Bearer {sim.token}":
                    return self._answer(401, {"error": "unauthorised"})
                if sim.delay_s:
                    time.sleep(sim.delay_s)
                with sim.lock:
                    status = sim.fail_next.pop(0) if sim.fail_next else None
                if status is not None:
                    return self._answer(status, {"error": f"simulated {status}", "detail": "字段 case.grid_code 无效"})
                try:
                    record = json.loads(body)
                    record_id = record["record_id"]
                except (ValueError, KeyError, TypeError):
                    return self._answer(400, {"error": "not a record"})
                with sim.lock:
                    duplicate = record_id in sim.records
                    sim.records.setdefault(record_id, record)
                    sim.arrivals.append(record_id)
                self._answer(200, {"record_id": record_id, "duplicate": duplicate})

            def _answer(self, status: int, data: dict) -> None:
                payload = json.dumps(data, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="receiver-sim", daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.lock:
            clients, self._clients = self._clients, set()
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)

    def duplicates(self) -> int:
        with self.lock:
            return len(self.arrivals) - len(self.records)

    def order_of(self, case_number: str) -> list[int]:
        """The steps of one case in the order they first arrived."""
        with self.lock:
            seen, steps = set(), []
            for record_id in self.arrivals:
                if record_id.startswith(f"{case_number}-") and record_id not in seen:
                    seen.add(record_id)
                    steps.append(self.records[record_id]["step"]["seq"])
            return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    sim = ReceiverSim(args.host, args.port, args.token)
    print(f"receiving at {sim.url}", flush=True)
    shown = 0
    while True:
        time.sleep(1)
        with sim.lock:
            new = sim.arrivals[shown:]
            shown = len(sim.arrivals)
        for record_id in new:
            print(record_id, sim.records[record_id]["case"]["status"]["name"], flush=True)


if __name__ == "__main__":
    main()
