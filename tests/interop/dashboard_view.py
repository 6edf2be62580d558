#!/usr/bin/env python3
"""What optuna-dashboard serves for a journal file: its WSGI app is built on the file exactly
as `optuna-dashboard PATH` does, and /api/studies and /api/studies/<id> are requested in
process (no server, no port). Prints {"studies": [...], "study": {...}} as JSON, for
tests/cli_sweep_test.cpp.

usage: dashboard_view.py JOURNAL_PATH STUDY_NAME
"""
import io
import json
import sys
import warnings

from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna_dashboard import wsgi


def get(app, path):
    status = {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
               "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": False,
               "wsgi.multiprocess": False, "wsgi.run_once": False}

    def start_response(s, headers, exc_info=None):
        status["code"] = int(s.split()[0])

    body = b"".join(app(environ, start_response))
    if status["code"] != 200:
        raise SystemExit(f"GET {path}: HTTP {status['code']}: {body[:300]!r}")
    return json.loads(body)


def main(path, name):
    warnings.simplefilter("ignore")
    app = wsgi(JournalStorage(JournalFileBackend(path)))
    studies = get(app, "/api/studies")["study_summaries"]
    sid = next(s["study_id"] for s in studies if s["study_name"] == name)
    print(json.dumps({"studies": studies, "study": get(app, f"/api/studies/{sid}")}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
