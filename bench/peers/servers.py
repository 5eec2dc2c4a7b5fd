"""Real server processes for the HTTP benchmarks: CityOps under uvicorn, and pygeoapi (the peer) from its own venv.

Each listens on a free loopback port with one worker and is stopped when the bench ends; its output goes to
var/log/bench-<name>.log. The client is one keep-alive HTTP/1.1 connection per server, as a GIS client has.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "log"
PEER_DIR = ROOT / "var" / "peers" / "pygeoapi"
PEER_VENV = PEER_DIR / "venv"
PEER_REQUIREMENTS = Path(__file__).with_name("pygeoapi-requirements.txt")
UVICORN_FAST = ["--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on 127.0.0.1:`port`; `ready()` waits until it answers HTTP."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name, self.port = name, port
        self.log_path = LOG_DIR / f"bench-{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def ready(self, path: str = "/", timeout: float = 90) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path)
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class KeepAlive:
    """One HTTP/1.1 connection reused for every request (reopened if the server closes it)."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers: dict[str, str] = {}

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict | None = None):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            self.conn.request(method, target, body=body, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.conn.close()  # a keep-alive connection the server had closed: once more on a new one
            self.conn.request(method, target, body=body, headers={**self.headers, **(headers or {})})
            response = self.conn.getresponse()
        return response.status, response.msg, response.read()

    def get(self, url: str, headers: dict | None = None):
        return self.request("GET", url, headers=headers)


def start_cityops(name: str = "cityops", workers: int = 1) -> Server:
    """`uvicorn cityops.asgi:application` as bin/cityops starts it, on the bench database (one worker process
    unless told otherwise)."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": ":".join(filter(None, [f"{ROOT / 'platform'}:{ROOT}", os.environ.get("PYTHONPATH")])),
        "CITYOPS_DB_POOL": os.environ.get("CITYOPS_DB_POOL", "1"),  # as bin/cityops runs the web server
    }
    argv = [sys.executable, "-m", "uvicorn", "cityops.asgi:application", "--app-dir", "platform"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--ws", "websockets", "--workers", str(workers), *UVICORN_FAST]
    return Server(name, argv, env, port).ready("/healthz")


def start_bare_tiles(dsn: str) -> Server:
    """bare_tile_server.py (the bare ST_AsMVT query behind uvicorn, nothing else) on the database at `dsn`."""
    port = free_port()
    env = {**os.environ, "BARE_TILES_DSN": dsn}
    argv = [sys.executable, "-m", "uvicorn", "bare_tile_server:app", "--app-dir", str(Path(__file__).parent)]
    return Server("bare-tiles", [*argv, "--host", "127.0.0.1", "--port", str(port), *UVICORN_FAST], env, port).ready()


def database_connections(settings) -> str:
    """How the CityOps server gets its database connections (under ASGI, CONN_MAX_AGE keeps none: each request
    runs in its own context and opens its own connection; only a pool reuses them)."""
    db = settings.DATABASES["default"]
    if db.get("OPTIONS", {}).get("pool"):
        return "psycopg pool"
    return f"CONN_MAX_AGE={db.get('CONN_MAX_AGE')} (under ASGI: a new connection per request)"


def sign_in(client: KeepAlive, username: str, password: str) -> None:
    """Sign in through the login form, as a browser does; the client then sends the session cookie and the CSRF
    token (rotated by signing in) that a browser's script sends with a POST."""
    status, headers, _ = client.get("/login/")
    cookies = SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    token = cookies["csrftoken"].value
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    client.headers["Cookie"] = f"csrftoken={token}"
    status, headers, body = client.request(
        "POST", "/login/", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    for header in headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    if status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"could not sign in as {username}: HTTP {status} {body[:200]!r}")
    token = cookies["csrftoken"].value
    client.headers["Cookie"] = f"csrftoken={token}; sessionid={cookies['sessionid'].value}"
    client.headers["X-CSRFToken"] = token


# ---------------------------------------------------------------------------------------------- pygeoapi


def ensure_pygeoapi() -> Path:
    """The peer's venv (var/peers/pygeoapi/venv) from the pinned requirements; rebuilt when that file changes."""
    want = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    stamp = PEER_VENV / ".requirements.sha256"
    python = PEER_VENV / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return python
    print(f"installing the pygeoapi peer into {PEER_VENV.relative_to(ROOT)} (once per requirements change) …")
    shutil.rmtree(PEER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with open(LOG_DIR / "bench-pygeoapi-pip.log", "wb") as log:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-r", str(PEER_REQUIREMENTS)], stdout=log, stderr=subprocess.STDOUT
        )
    if done.returncode:
        raise RuntimeError("pip could not install the pygeoapi peer; see var/log/bench-pygeoapi-pip.log")
    stamp.write_text(want)
    return python


def pygeoapi_config(port: int, db: dict, collection: str, table: str, id_column: str, geom_column: str, columns):
    """A pygeoapi configuration publishing one PostGIS table through its PostgreSQL provider."""
    url = f"http://127.0.0.1:{port}"
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "language": "en-US",
            "cors": False,
            "pretty_print": False,
            "limits": {"default_items": 100, "max_items": 10_000},
            "map": {"url": f"{url}/none/{{z}}/{{x}}/{{y}}.png", "attribution": "none"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "CityOps bench peer",
                "description": "pygeoapi serving the CityOps bench database",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": url,
                "url": url,
            },
            "license": {"name": "none", "url": url},
            "provider": {"name": "CityOps bench", "url": url},
            "contact": {"name": "CityOps bench"},
        },
        "resources": {
            collection: {
                "type": "collection",
                "title": collection,
                "description": f"{table} of the CityOps bench database",
                "keywords": [collection],
                "extents": {
                    "spatial": {"bbox": [-180, -90, 180, 90], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
                },
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": {
                            "host": db["HOST"] or "127.0.0.1",
                            "port": int(db["PORT"] or 5432),
                            "dbname": db["NAME"],
                            "user": db["USER"],
                            "password": db["PASSWORD"] or "",
                        },
                        "id_field": id_column,
                        "table": table,
                        "geom_field": geom_column,
                        "properties": list(columns),
                    }
                ],
            }
        },
    }


def _uvicorn_starlette(port: int) -> list[str]:
    """pygeoapi's Starlette app under uvicorn, with the same loop and HTTP parser as CityOps' uvicorn."""
    return ["-m", "uvicorn", "pygeoapi.starlette_app:APP", "--host", "127.0.0.1", "--port", str(port), *UVICORN_FAST]


def _gunicorn_flask(port: int) -> list[str]:
    """pygeoapi's Flask app under gunicorn, one sync worker (its default; it closes the connection per response)."""
    bind = ["--workers", "1", "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    return ["-m", "gunicorn", *bind, "pygeoapi.flask_app:APP"]


PYGEOAPI_SERVERS = {"starlette+uvicorn": _uvicorn_starlette, "flask+gunicorn": _gunicorn_flask}


def start_pygeoapi(server: str, config_for) -> Server:
    """pygeoapi under `server` (a key of PYGEOAPI_SERVERS); `config_for(port)` gives its configuration."""
    python = ensure_pygeoapi()
    port = free_port()
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    slug = server.replace("+", "-")
    config, openapi = PEER_DIR / f"config-{slug}.yml", PEER_DIR / f"openapi-{slug}.yml"
    config.write_text(json.dumps(config_for(port), indent=1))  # JSON is YAML
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 (only a fallback for a missing HOME)
        "LANG": "C.UTF-8",
        "PYGEOAPI_CONFIG": str(config),
        "PYGEOAPI_OPENAPI": str(openapi),
    }
    subprocess.run(
        [str(PEER_VENV / "bin" / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return Server(f"pygeoapi-{server}", [str(python), *PYGEOAPI_SERVERS[server](port)], env, port).ready("/")
