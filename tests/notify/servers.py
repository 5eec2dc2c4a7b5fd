"""Real servers for the notification tests and the bench: an SMTP server process (aiosmtpd, storing every message
in a Maildir we read) and the SMPP gateway simulator (notify.sms_gateway_sim) on free ports."""

import contextlib
import email.header
import mailbox
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from notify.sms_gateway_sim import GatewaySim


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str


class SmtpServer:
    """`python -m aiosmtpd` with its Mailbox handler: a separate process speaking SMTP on a free port."""

    def __init__(self):
        self.port = free_port()
        self.maildir = Path(tempfile.mkdtemp(prefix="cityops-mail-")) / "Maildir"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None, "the SMTP server exited"
                assert time.monotonic() < deadline, "the SMTP server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def mails(self) -> list[Mail]:
        if not self.maildir.exists():
            return []
        found = []
        for message in mailbox.Maildir(self.maildir, create=False):
            subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
            body = message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
            found.append(Mail(message["To"], subject, body, message["Message-ID"]))
        return found

    def settings(self) -> dict:
        return {"CITYOPS_SMTP_HOST": "127.0.0.1", "CITYOPS_SMTP_PORT": self.port}


def gateway(**options) -> GatewaySim:
    sim = GatewaySim(port=free_port(), **options)
    sim.start()
    return sim


def gateway_settings(sim: GatewaySim) -> dict:
    return {"CITYOPS_SMS_HOST": "127.0.0.1", "CITYOPS_SMS_PORT": sim.port}


def as_env(settings: dict) -> dict:
    return {name: str(value) for name, value in settings.items()}


@contextlib.contextmanager
def channels_and_worker(monkeypatch, django_db_blocker, **gateway_options):
    """The SMPP gateway simulator, an SMTP server process and a real jobs worker pointed at both (through the
    environment the worker starts with); all stopped afterwards."""
    from tests.jobs_worker import on_an_empty_queue  # it sets Django up: only for the tests that start a worker

    sim = gateway(**gateway_options)
    smtp = SmtpServer()
    smtp.start()
    try:
        for name, value in {**gateway_settings(sim), **smtp.settings(), "CITYOPS_NOTIFY_RETRY_SECONDS": 1}.items():
            monkeypatch.setenv(name, str(value))
        with on_an_empty_queue(django_db_blocker) as worker:
            yield sim, smtp, worker
    finally:
        smtp.stop()
        sim.stop()
