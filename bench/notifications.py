"""Benchmark: 10,000 queued e-mails through RQ workers into a local SMTP server (issue 6).

Builds a reseller with a client, its owner and the installed "account changed" handler, sends
one real event through the dispatch to get a rendered message (put in a 2 KB HTML layout),
and queues N copies of it to N different addresses. An aiosmtpd server (a subprocess, so it
never shares a GIL with the senders) takes the mail. Then, for 1 and for 2 workers:

  the send jobs are queued on Redis the way the dispatch queues them (`queue_sending`), and
  W worker processes run them (rq SimpleWorker, burst mode, inside the app; each runner
  counts what its jobs sent). It prints messages per second per worker and in total, and
  checks that every message was sent once.

Finally the same N messages are sent in this process on a fresh SQLite database, without
Redis (the embedded default), for comparison.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/notifications.py
    .venv/bin/python bench/notifications.py                  # SQLite in a temp directory
    options: --messages 10000 --workers 1 2 --redis redis://127.0.0.1:6379/5

The PostgreSQL database is emptied first (its public schema is dropped) and the Redis
database flushed.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
# Real mails come in a branded HTML layout: wrap the rendered body in one of about 2 KB so the
# figures are not flattered by a 200-byte message.
LAYOUT = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>{subject}</title></head>'
    '<body style="margin:0;padding:0;background:#f4f6f8;font-family:Arial,Helvetica,sans-serif">'
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
    'style="background:#f4f6f8"><tr><td align="center" style="padding:24px 12px">'
    '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
    'style="background:#ffffff;border-radius:6px;border:1px solid #dde3ea">'
    '<tr><td style="padding:20px 28px;border-bottom:3px solid #1f5fa8">'
    '<img src="https://bench-reseller.example/branding/logo.png" alt="Bench reseller" '
    'height="36" style="display:block;border:0"></td></tr>'
    '<tr><td style="padding:24px 28px;font-size:15px;line-height:22px;color:#23303d">{body}'
    '</td></tr><tr><td style="padding:16px 28px;background:#f9fafb;font-size:12px;'
    'line-height:18px;color:#6b7785;border-top:1px solid #e6ebf0">'
    "Вы получили это письмо, потому что являетесь пользователем панели управления "
    "Bench reseller. Настроить уведомления можно в разделе «Настройка уведомлений» панели "
    "управления клиента. Пожалуйста, не отвечайте на это письмо: оно отправлено "
    "автоматически. По всем вопросам обращайтесь в службу поддержки по адресу "
    '<a href="mailto:support@bench-reseller.example" style="color:#1f5fa8">'
    "support@bench-reseller.example</a> или по телефону +7 495 000-00-00.<br><br>"
    "© 2026 Bench reseller. Все права защищены.</td></tr></table></td></tr></table>"
    "</body></html>")
sys.path.insert(0, str(ROOT_DIR))
os.environ.setdefault("PORTAL_INSTANCE_PATH", tempfile.mkdtemp(prefix="portal-bench-"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _app(database_url: str, redis_url: str | None):
    os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    else:
        os.environ.pop("REDIS_URL", None)
    from portal import create_app

    return create_app({"TESTING": False})


def start_smtp_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the SMTP server did not start")


def build(app, smtp_port: int) -> dict:
    """A fresh schema, the operator with the local SMTP server, a reseller with a client;
    one real event dispatched to get a rendered message. Returns the row to copy."""
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from portal.cli import ensure_root
    from portal.clients.models import ClientType, ServiceRule
    from portal.clients.services.clients import create_client
    from portal.extensions import db
    from portal.notifications.delivery_models import Notification
    from portal.notifications.dispatch import dispatch
    from portal.tenancy.services.resellers import create_reseller

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            db.session.execute(text("CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        root, _member, _token = ensure_root(name="Bench operator", email="operator@example.com",
                                            password="Quick-fox-2026", currency="RUB",
                                            domain="localhost")
        root.smtp_host, root.smtp_port = "127.0.0.1", smtp_port
        root.smtp_sender = "noreply@operator.example"
        reseller = create_reseller(root, name="Bench reseller", slug="bench-reseller",
                                   currency="RUB")
        client_type = db.session.scalar(select(ClientType).where(
            ClientType.reseller_id == reseller.id, ClientType.key == "legal_entity"))
        service_rule = db.session.scalar(select(ServiceRule).where(
            ServiceRule.reseller_id == reseller.id).order_by(ServiceRule.id))
        client = create_client(
            reseller, client_type_id=client_type.id, service_rule_id=service_rule.id,
            primary_name="Bench client", parameters={"inn": "7707083893"},
            owner={"email": "owner@client.example", "first_name": "Anna", "last_name": "K"})
        db.session.commit()
        _drop_queued_jobs(app)
        [row] = [n for n in dispatch("account_changed", {"client": client.id})
                 if n.channel == "email"]
        db.session.commit()
        _drop_queued_jobs(app)
        template = {column: getattr(row, column) for column in (
            "reseller_id", "client_id", "event_type", "handler_id", "template_id",
            "category_id", "channel", "sender", "language", "subject", "body")}
        template["body"] = LAYOUT.format(subject=row.subject, body=row.body)
        db.session.execute(Notification.__table__.delete())
        db.session.commit()
        print(f"database: {db.engine.dialect.name}; one message: "
              f"{len(template['body'].encode())} bytes of HTML (the rendered “account changed” "
              f"mail in a layout), subject “{template['subject']}”", flush=True)
        return template


def _drop_queued_jobs(app) -> None:
    backend = app.extensions["portal_jobs"]
    if hasattr(backend, "pending"):
        while not backend.pending.empty():
            backend.pending.get_nowait()
    else:
        backend.connection.flushdb()


def queue_messages(app, template: dict, n: int, *, start_jobs: bool = False) -> None:
    """N queued copies of the message to N addresses, due now; with start_jobs, the send
    jobs are queued with them, as the dispatch does, and go to Redis at the commit."""
    from sqlalchemy import insert

    from portal.core.clock import clock
    from portal.extensions import db
    from portal.notifications.delivery_models import Notification
    from portal.notifications.sending import queue_sending

    with app.app_context():
        db.session.execute(Notification.__table__.delete())
        now = clock.now()
        due = now - timedelta(seconds=1)
        rows = [{**template, "recipient": f"user{i}@client.example", "status": "queued",
                 "attempts": 0, "cycle": 1, "cc": "", "bcc": "", "last_error": "",
                 "next_attempt_at": due, "created_at": now} for i in range(n)]
        for start in range(0, n, 5000):
            db.session.execute(insert(Notification), rows[start:start + 5000])
        if start_jobs:
            queue_sending(template["reseller_id"], n)
        db.session.commit()


def check(app, n: int) -> None:
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.notifications.delivery_models import Notification, NotificationAttempt

    with app.app_context():
        sent = db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.status == "sent"))
        attempts = db.session.scalar(select(func.count()).select_from(NotificationAttempt))
        db.session.execute(NotificationAttempt.__table__.delete())
        db.session.commit()
    assert sent == n, f"{sent} of {n} sent"
    assert attempts == n, f"{attempts} attempts for {n} messages"


def run_rq(app, template: dict, n: int, workers: int, database_url: str, redis_url: str):
    with app.app_context():
        app.extensions["portal_jobs"].connection.flushdb()
    queue_messages(app, template, n, start_jobs=True)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    started = time.time()
    runners = [subprocess.Popen([sys.executable, __file__, "--worker"], env=env,
                                stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    reports = []
    for runner in runners:
        out, _err = runner.communicate(timeout=1800)
        if runner.returncode:
            raise RuntimeError(f"a worker failed ({runner.returncode})")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.time() - started
    check(app, n)
    first = min(r["first"] for r in reports if r["messages"])
    last = max(r["last"] for r in reports if r["messages"])
    print(f"\n{workers} worker(s), {n} e-mails (RQ on Redis, SimpleWorker, burst):")
    for number, report in enumerate(reports, start=1):
        span = max(report["last"] - report["first"], 1e-9) if report["messages"] else 0
        rate = report["messages"] / span if span else 0
        print(f"  worker {number}: {report['messages']:>6} messages in {span:6.2f} s = "
              f"{rate:7.1f} msg/s over {report['connections']} SMTP connection(s), "
              f"{report['jobs']} job(s)")
    print(f"  total: {n} messages in {last - first:.2f} s = {n / (last - first):.1f} msg/s "
          f"(wall with process start-up {wall:.2f} s)", flush=True)
    return n / (last - first)


def run_in_process(n: int, smtp_port: int) -> float:
    """The embedded default: SQLite, no Redis, send_pending in this process."""
    url = f"sqlite:///{tempfile.mkdtemp(prefix='portal-bench-sqlite-')}/bench.db"
    app = _app(url, None)
    template = build(app, smtp_port)
    queue_messages(app, template, n)
    from portal.notifications import sending

    with app.app_context():
        started = time.perf_counter()
        sent = sending.send_pending(template["reseller_id"])
        elapsed = time.perf_counter() - started
    check(app, n)
    print(f"\nSQLite, in process (no Redis): {sent} messages in {elapsed:.2f} s = "
          f"{sent / elapsed:.1f} msg/s", flush=True)
    return sent / elapsed


def worker() -> None:
    """A worker process: rq SimpleWorker on the "mail" queue inside the app, counting what
    the send jobs sent. Prints one JSON line."""
    from rq import Queue, SimpleWorker

    from portal.notifications import connectors, sending

    app = _app(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    stats = {"messages": 0, "first": None, "last": None, "jobs": 0, "connections": 0}
    original = sending.send_pending
    original_enter = connectors.SmtpBatch.__exit__

    @functools.wraps(original)
    def counted(reseller_id):
        started = time.time()
        sent = original(reseller_id)
        stats["jobs"] += 1
        if sent:
            stats["messages"] += sent
            stats["first"] = min(stats["first"] or started, started)
            stats["last"] = max(stats["last"] or 0, time.time())
        return sent

    def exit_counting(self, *exc):
        stats["connections"] += self.connections
        return original_enter(self, *exc)

    sending.send_pending = counted  # run_job looks the job up by name at call time
    connectors.SmtpBatch.__exit__ = exit_counting
    backend = app.extensions["portal_jobs"]
    with app.app_context():
        SimpleWorker([Queue("mail", connection=backend.connection)],
                     connection=backend.connection).work(burst=True, logging_level="WARNING")
    print(json.dumps(stats), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='portal-bench-')}/bench.db")
    port = _free_port()
    smtp = start_smtp_server(port)
    try:
        app = _app(database_url, args.redis)
        template = build(app, port)
        for count in args.workers:
            run_rq(app, template, args.messages, count, database_url, args.redis)
        run_in_process(args.messages, port)
    finally:
        smtp.terminate()
        smtp.wait(timeout=10)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
