"""Point-in-time restore drill: the restored database holds exactly what was committed before the target time.

Run on the replicated deployment (`bin/cityops cluster start`):  .venv/bin/python bench/drill_pitr.py
Takes an incremental pgBackRest backup, commits rows one by one, notes the server's time, commits more rows,
waits until their WAL is archived, then restores the backup + archive to that time into a scratch data
directory (var/cluster/pitr), starts a scratch PostgreSQL there and compares the row ids. Exit status 1 on a
mismatch. Bounded: ~1 minute.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = ROOT / "var" / "cluster"
PRIMARY = "postgresql://cityops@127.0.0.1:57400/postgres"
SCRATCH = CLUSTER / "pitr"
SCRATCH_PORT = 57499
PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROWS = 50


def as_postgres(*command: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


def pgbackrest(*args: str) -> None:
    subprocess.run(
        as_postgres("pgbackrest", f"--config={CLUSTER / 'pgbackrest.conf'}", "--stanza=cityops", *args), check=True
    )


def insert_rows(conn: psycopg.Connection, label: str) -> list[int]:
    """Commits ROWS rows, one transaction each (each acknowledged on both nodes: synchronous commit)."""
    return [
        conn.execute("INSERT INTO drill_pitr (label) VALUES (%s) RETURNING id", [label]).fetchone()[0]
        for _ in range(ROWS)
    ]


def wait_archived(conn: psycopg.Connection) -> None:
    """Closes the current WAL segment and waits until pgBackRest has archived it."""
    segment = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
    deadline = time.monotonic() + 60
    while conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0] < segment:
        if time.monotonic() > deadline:
            raise SystemExit(f"WAL segment {segment} was not archived within 60 s")
        time.sleep(0.2)


def restore_to(target: str) -> set[int]:
    """Restores to `target` into the scratch directory and returns the ids the restored database holds."""
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(SCRATCH, "postgres", "postgres")
    pgbackrest(f"--pg1-path={SCRATCH}", "--type=time", f"--target={target}", "--target-action=promote", "restore")
    options = (
        f"-p {SCRATCH_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={SCRATCH}"
        " -c archive_mode=off -c synchronous_standby_names=''"
    )
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(SCRATCH), "-l", str(CLUSTER / "log" / "pitr.log")]
    subprocess.run(as_postgres(*pg_ctl, "-o", options, "-w", "-t", "120", "start"), check=True)
    try:
        url = f"postgresql://cityops@127.0.0.1:{SCRATCH_PORT}/postgres"
        deadline = time.monotonic() + 120
        with psycopg.connect(url, autocommit=True) as conn:
            while conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                if time.monotonic() > deadline:
                    raise SystemExit("the restored database did not finish recovery")
                time.sleep(0.2)
            return {row[0] for row in conn.execute("SELECT id FROM drill_pitr")}
    finally:
        subprocess.run(as_postgres(*pg_ctl, "-m", "fast", "stop"), check=False)
        shutil.rmtree(SCRATCH, ignore_errors=True)


def main() -> int:
    started = time.monotonic()
    with psycopg.connect(PRIMARY, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS drill_pitr (id bigserial PRIMARY KEY, label text NOT NULL)")
        conn.execute("TRUNCATE drill_pitr")
        pgbackrest("--type=incr", "backup")
        before = insert_rows(conn, "before")
        target = conn.execute("SELECT clock_timestamp()::text").fetchone()[0]
        time.sleep(1)
        after = insert_rows(conn, "after")
        wait_archived(conn)
    restored = restore_to(target)
    ok = restored == set(before)
    print(f"restore target: {target}")
    print(f"committed before it: {len(before)}, after it: {len(after)}")
    print(
        f"restored: {len(restored)} rows; missing {len(set(before) - restored)}, "
        f"extra {len(restored - set(before))} -> {'exact' if ok else 'MISMATCH'}"
    )
    print(f"drill time: {time.monotonic() - started:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
