"""gunicorn settings for ``python -m bench.load --profile DIR``: the web process's own settings
(``gunicorn.conf.py``) plus cProfile around each request in every worker.

Each worker profiles the requests it serves (the WSGI call, from gunicorn handing over the
parsed request to the response's last byte) and writes ``DIR/worker-PID.prof`` when it exits;
read them with ``python -m pstats`` or ``bench.load``'s summary. Worker start-up and the
master are left out: the question is where a request's CPU time goes.
"""

import cProfile
import os
import time
from pathlib import Path

_conf = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
exec(compile(_conf.read_text(), str(_conf), "exec"))  # noqa: S102 - our own settings file

_FOLDER = Path(os.environ["BENCH_LOAD_PROFILE"])
# CPU time, not wall time: waits for the database or a core are not the page's cost.
_profile = cProfile.Profile(time.process_time)
# The last worker of a given pid would overwrite an earlier one's file: max_requests
# recycling is turned off while profiling.
max_requests = 0


def pre_request(worker, req):
    _profile.enable()


def post_request(worker, req, environ, resp):
    _profile.disable()


def worker_exit(server, worker):
    _FOLDER.mkdir(parents=True, exist_ok=True)
    _profile.dump_stats(str(_FOLDER / f"worker-{os.getpid()}.prof"))
