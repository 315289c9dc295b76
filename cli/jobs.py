"""Queue commands of `python -m pipeline` (registered on the one parser of `cli.main`): enqueue, worker, jobs.

The queue itself is `jobs.queue`; the worker process is `jobs.worker`.
"""

from __future__ import annotations

import argparse
import json
import logging

from cli.options import analysis_options, analysis_settings, json_option, uploader


def register(subparsers) -> None:
    p = subparsers.add_parser("enqueue", help="store a recording and queue its analysis for a worker")
    analysis_options(p)
    json_option(p)
    p.set_defaults(run=cmd_enqueue)

    p = subparsers.add_parser("worker", help="analyse queued calls until stopped (SIGTERM hands the job in hand back)")
    p.add_argument("--concurrency", type=_positive_int, default=1, help="worker processes on this host (default: 1)")
    p.add_argument("--burst", action="store_true", help="exit 0 once the queue is empty")
    p.add_argument("--parent", type=_positive_int, metavar="PID",
                   help="stop, handing the job in hand back, once process PID (the dashboard that started it) is gone")
    p.set_defaults(run=cmd_worker)

    p = subparsers.add_parser("jobs", help="list analysis jobs, newest first")
    p.add_argument("--state", choices=["queued", "running", "done", "failed"], help="only jobs in this state")
    p.add_argument("--limit", type=_positive_int, default=50, help="at most this many (default: %(default)s)")
    json_option(p)
    p.set_defaults(run=cmd_jobs)


def cmd_enqueue(args) -> int:
    from jobs.queue import enqueue_call

    call_id, job_id = enqueue_call(args.video, title=args.title, rep=args.rep, prospect_name=args.prospect,
                                   prospect_company=args.company, call_date=args.date,
                                   analysis=analysis_settings(args), **uploader(args))
    if args.json:
        print(json.dumps({"call_id": call_id, "job_id": job_id}))
    else:
        print(f"job {job_id} queued: call {call_id} ({args.video.name})")
    return 0


def cmd_worker(args) -> int:
    from jobs.worker import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)  # one line per task start/finish is ours to write
    return serve(args.concurrency, args.burst, args.parent)


def cmd_jobs(args) -> int:
    from jobs.queue import list_jobs

    rows = list_jobs(args.state, args.limit)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print(f"no {args.state + ' ' if args.state else ''}jobs")
        return 0
    print(f"{'job':>5} {'call':>5}  {'state':<8} {'stage':<18} {'progress':>8} {'tries':>5}  error")
    for r in rows:
        print(f"{r['id']:>5} {r['call_id']:>5}  {r['state']:<8} {(r['stage'] or '-'):<18} {r['progress']:>7.0f}% "
              f"{r['attempts']:>5}  {r['error'] or ''}")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value
