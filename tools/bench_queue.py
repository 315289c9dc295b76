"""Queue throughput: `python -m tools.bench_queue --jobs N --workers 1|2 [--db sqlite|postgresql] [--queue ...]`.

Enqueues N copies of one synthetic call into a fresh data folder, starts the workers
(`python -m pipeline worker --burst`, all at once) and prints jobs per minute and
seconds of call analysed per wall second: over the whole run (worker start-up
included) and over the busy span (first claim to last finish), which is what a
long-running worker sustains. With `--db postgresql` / `--queue redis|postgresql`
it starts throwaway servers on loopback, so one command measures any combination.

The throwaway servers are also what tests/test_jobs_postgres.py runs against.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

from config import REPO_ROOT


# ----------------------------------------------------------------------------- throwaway servers
def find_binary(name: str) -> str | None:
    """On PATH, or where Debian's postgresql package keeps its server tools."""
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL cluster in a temp folder on a free loopback port, trust auth; yields its SQLAlchemy URL."""
    initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
    if not (initdb and pg_ctl):
        raise FileNotFoundError("PostgreSQL's initdb and pg_ctl not found (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="rapport-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    port, data = free_port(), folder / "data"
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    try:
        subprocess.run([*as_postgres, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w", "-o", options,
                        "start"], check=True, capture_output=True)
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE rapport")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/rapport"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server without persistence on a free loopback port; yields its URL."""
    server = find_binary("redis-server")
    if server is None:
        raise FileNotFoundError("redis-server not found (apt-get install redis-server)")
    import redis

    port = free_port()
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)


# ----------------------------------------------------------------------------- benchmark
def run_benchmark(n_jobs: int, n_workers: int, db: str, queue: str, call_seconds: float) -> dict:
    from config import get_settings
    from db.models import Job
    from db.session import init_db, session_scope
    from jobs.queue import enqueue_call
    from tools.synthetic import CallScript, write_call_video
    from sqlalchemy import select

    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rapport-bench-")))
        env = {"RAPPORT_DATA_DIR": str(folder / "data"), "RAPPORT_DB_URL": "", "RAPPORT_QUEUE_URL": ""}
        if db == "postgresql":
            env["RAPPORT_DB_URL"] = stack.enter_context(throwaway_postgres())
        if queue == "redis":
            env["RAPPORT_QUEUE_URL"] = stack.enter_context(throwaway_redis())
        elif queue == "postgresql":
            env["RAPPORT_QUEUE_URL"] = env["RAPPORT_DB_URL"] or stack.enter_context(throwaway_postgres())
        os.environ.update(env)
        get_settings.cache_clear()
        init_db()
        video = write_call_video(folder / "call.mp4", CallScript(duration_s=call_seconds))
        for i in range(n_jobs):
            enqueue_call(video, title=f"bench {i}")

        start = time.monotonic()
        logs = [stack.enter_context(open(folder / f"worker-{i}.log", "w")) for i in range(n_workers)]
        workers = [subprocess.Popen([sys.executable, "-m", "pipeline", "worker", "--burst"], cwd=REPO_ROOT,
                                    stdout=log, stderr=subprocess.STDOUT) for log in logs]
        codes = [w.wait() for w in workers]
        wall = time.monotonic() - start
        with session_scope() as session:
            rows = session.execute(select(Job.state, Job.started_at, Job.finished_at)).all()
        if codes != [0] * n_workers or any(r.state != "done" for r in rows):
            tails = "\n".join(Path(log.name).read_text()[-3000:] for log in logs)
            raise RuntimeError(f"worker exit codes {codes}, job states {[r.state for r in rows]}; worker logs:\n{tails}")
        busy = (max(r.finished_at for r in rows) - min(r.started_at for r in rows)).total_seconds()
    return {"jobs": n_jobs, "workers": n_workers, "db": db, "queue": queue, "call_s": call_seconds,
            "wall_s": round(wall, 1), "busy_s": round(busy, 1),
            "jobs_per_min": round(60 * n_jobs / wall, 2), "jobs_per_min_busy": round(60 * n_jobs / busy, 2),
            "call_s_per_wall_s": round(n_jobs * call_seconds / wall, 2),
            "call_s_per_wall_s_busy": round(n_jobs * call_seconds / busy, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_queue", description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="calls to analyse (default: %(default)s)")
    parser.add_argument("--workers", type=int, choices=[1, 2], default=1, help="worker processes (default: %(default)s)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite", help="the store (default: %(default)s)")
    parser.add_argument("--queue", choices=["sqlite", "redis", "postgresql"], default="sqlite",
                        help="Huey's storage (default: %(default)s, the embedded one)")
    parser.add_argument("--call-seconds", type=float, default=30.0, help="length of each call (default: %(default)s)")
    args = parser.parse_args(argv)
    r = run_benchmark(args.jobs, args.workers, args.db, args.queue, args.call_seconds)
    print(f"{r['jobs']} x {r['call_s']:g} s calls, {r['workers']} worker(s), store {r['db']}, queue {r['queue']}: "
          f"{r['wall_s']} s wall ({r['busy_s']} s busy)")
    print(f"  jobs per minute:                 {r['jobs_per_min']:6.2f}  (busy span: {r['jobs_per_min_busy']:.2f})")
    print(f"  seconds of call per wall second: {r['call_s_per_wall_s']:6.2f}  (busy span: {r['call_s_per_wall_s_busy']:.2f})")


if __name__ == "__main__":
    main()
