#!/usr/bin/env python3
"""A small HTTP front for real Optuna, so `kiln sweep --optuna-url` (C++) can ask, report and
tell while Optuna's own sampler, pruner and storage do the work.

Only the standard library and optuna. Every Optuna call runs under one lock: the storage
objects are shared by the request threads and the sampler's RNG must advance in one order.
See docs/optuna_server.md for the endpoints, their JSON and how to run it. Kept as one
self-contained file on purpose: it is copied alone onto the machines that run it.

usage: optuna_server.py --storage URL [--host 127.0.0.1] [--port 8765] [--token T]
                        [--sampler tpe|random|grid] [--seed N] [--pruner median|...] ...
"""
import argparse
import hmac
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import optuna
from optuna.distributions import (CategoricalDistribution, check_distribution_compatibility,
                                  distribution_to_json, json_to_distribution)
from optuna.trial import TrialState

STATE_NAMES = {TrialState.RUNNING: "Running", TrialState.COMPLETE: "Complete",
               TrialState.PRUNED: "Pruned", TrialState.FAIL: "Fail", TrialState.WAITING: "Waiting"}
TELL_STATES = {"Complete": TrialState.COMPLETE, "Pruned": TrialState.PRUNED, "Fail": TrialState.FAIL}
# Trial system attrs this server writes: the client's ask id (a retried ask gets the same
# trial back) and the step a prune decision was given at (a repeated report gets it again;
# successive halving would otherwise answer differently the second time).
REQUEST_ID_ATTR = "kiln:request_id"
PRUNED_AT_ATTR = "kiln:pruned_at_step"
MAX_BODY_BYTES = 8 << 20


class ApiError(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status, self.reason = status, reason


def open_storage(spec):
    """An Optuna storage URL (sqlite:///x.db, postgresql://...) or a journal file path."""
    if "://" in spec:
        return optuna.storages.get_storage(spec)
    if os.path.isfile(spec):
        with open(spec, "rb") as f:
            if f.read(16) == b"SQLite format 3\x00":
                sys.exit(f"optuna_server: {spec} is an SQLite database: pass --storage sqlite:///{spec}")
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    return JournalStorage(JournalFileBackend(spec))


def clean(x):
    """Strict JSON: non-finite floats become "nan"/"inf"/"-inf" (optuna-dashboard's spelling)."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    return x


def to_float(x, what):
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, str) and x.lower() in ("nan", "inf", "-inf", "infinity", "-infinity"):
        return float(x)
    raise ApiError(400, f"{what} must be a number (or \"nan\", \"inf\", \"-inf\"), not {x!r}")


def fmt_time(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") if dt else None


def attr_list(attrs):
    return [{"key": k, "value": clean(v)} for k, v in attrs.items()]


def dashboard_distribution(d):
    """optuna-dashboard's flattened shape ({"type": "FloatDistribution", "low", ...})."""
    if isinstance(d, CategoricalDistribution):
        return {"type": "CategoricalDistribution",
                "choices": [{"pytype": str(type(c)), "value": str(c)} for c in d.choices]}
    out = {"type": type(d).__name__}
    out.update(clean(d._asdict()))
    return out


def trial_json(t, study_id):
    params = []
    for name, value in t.params.items():
        d = t.distributions[name]
        params.append({"name": name, "param_internal_value": clean(d.to_internal_repr(value)),
                       "param_external_value": clean(value), "distribution": dashboard_distribution(d),
                       "distribution_json": json.loads(distribution_to_json(d))})
    return {"trial_id": t._trial_id, "study_id": study_id, "number": t.number,
            "state": STATE_NAMES[t.state], "params": params,
            "values": clean(t.values) if t.values is not None else None,
            "intermediate_values": [{"step": s, "value": clean(v)}
                                    for s, v in sorted(t.intermediate_values.items())],
            "user_attrs": attr_list(t.user_attrs), "system_attrs": attr_list(t.system_attrs),
            "datetime_start": fmt_time(t.datetime_start),
            "datetime_complete": fmt_time(t.datetime_complete)}


class Service:
    """The Optuna side: one Study object (so one sampler RNG) per study, created on first use."""

    def __init__(self, storage, args):
        self.storage, self.args = storage, args
        self.lock = threading.Lock()
        self.studies = {}      # study_id -> optuna.Study
        self.trial_study = {}  # trial_id -> study_id (Optuna's storages have no public lookup)

    def make_sampler(self, n_existing):
        a = self.args
        # Offsetting the seed by the trials already there keeps a restarted server from
        # replaying the same random draws; the run stays reproducible from the study contents.
        seed = None if a.seed is None else a.seed + n_existing
        if a.sampler == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if a.sampler == "grid":
            return None  # built on the first ask, from that ask's search space
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=a.tpe_startup_trials)

    def make_pruner(self):
        a = self.args
        if a.pruner == "none":
            return optuna.pruners.NopPruner()
        if a.pruner == "successive_halving":
            mr = "auto" if a.min_resource == "auto" else int(a.min_resource)
            return optuna.pruners.SuccessiveHalvingPruner(
                min_resource=mr, reduction_factor=a.reduction_factor or 4)
        if a.pruner == "hyperband":
            mr = 1 if a.min_resource == "auto" else int(a.min_resource)
            return optuna.pruners.HyperbandPruner(min_resource=mr,
                                                  reduction_factor=a.reduction_factor or 3)
        return optuna.pruners.MedianPruner(n_startup_trials=a.n_startup_trials,
                                           n_warmup_steps=a.n_warmup_steps,
                                           interval_steps=a.interval_steps)

    def study(self, study_id):
        if study_id in self.studies:
            return self.studies[study_id]
        try:
            name = self.storage.get_study_name_from_id(study_id)
        except KeyError:
            raise ApiError(404, f"no study with id {study_id}") from None
        n = len(self.storage.get_all_trials(study_id, deepcopy=False))
        s = optuna.load_study(study_name=name, storage=self.storage,
                              sampler=self.make_sampler(n), pruner=self.make_pruner())
        self.studies[study_id] = s
        return s

    def study_of_trial(self, trial_id):
        if trial_id not in self.trial_study:
            for fs in self.storage.get_all_studies():  # a trial another server or process made
                for t in self.storage.get_all_trials(fs._study_id, deepcopy=False):
                    self.trial_study[t._trial_id] = fs._study_id
        if trial_id not in self.trial_study:
            raise ApiError(404, f"no trial with id {trial_id}")
        return self.trial_study[trial_id]

    # ---- endpoints (called with self.lock held) ----

    def create_study(self, body):
        name, dirs = body.get("study_name"), body.get("directions")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "study_name must be a non-empty string")
        if not isinstance(dirs, list) or not dirs or any(d not in ("minimize", "maximize") for d in dirs):
            raise ApiError(400, f'directions must be a list of "minimize"/"maximize", not {dirs!r}')
        metric_names = body.get("metric_names")
        if metric_names is not None and (not isinstance(metric_names, list) or len(metric_names) != len(dirs)
                                         or not all(isinstance(m, str) for m in metric_names)):
            raise ApiError(400, "metric_names must be a list of strings, one per direction")
        try:  # load first: create_study(load_if_exists) would log a second CREATE_STUDY
            self.storage.get_study_id_from_name(name)
            created = False
            s = optuna.load_study(study_name=name, storage=self.storage)
        except KeyError:
            created = True
            s = optuna.create_study(study_name=name, storage=self.storage, directions=dirs,
                                    load_if_exists=True)  # another server may win the race
        have = [d.name.lower() for d in s.directions]
        if have != dirs:
            raise ApiError(400, f"study {name!r} already exists with directions {have}, not {dirs}: "
                                "use another study name or the same direction")
        if metric_names and s.metric_names != metric_names:
            s.set_metric_names(metric_names)
        return (201 if created else 200), {"study_id": s._study_id, "study_name": name,
                                           "directions": have, "created": created}

    def list_studies(self):
        out = []
        for s in optuna.get_all_study_summaries(self.storage, include_best_trial=False):
            out.append({"study_id": s._study_id, "study_name": s.study_name,
                        "directions": [d.name.lower() for d in s.directions],
                        "user_attrs": attr_list(s.user_attrs), "n_trials": s.n_trials,
                        "datetime_start": fmt_time(s.datetime_start)})
        return 200, {"study_summaries": out}

    def get_study(self, study_id, after):
        s = self.study(study_id)
        trials = [trial_json(t, study_id) for t in s.get_trials(deepcopy=False) if t.number >= after]
        return 200, {"study_id": study_id, "name": s.study_name,
                     "directions": [d.name.lower() for d in s.directions],
                     "metric_names": s.metric_names, "user_attrs": attr_list(s.user_attrs),
                     "system_attrs": attr_list(self.storage.get_study_system_attrs(study_id)),
                     "trials": trials}

    def ask(self, study_id, body):
        space = body.get("search_space", {})
        if not isinstance(space, dict):
            raise ApiError(400, "search_space must be an object {name: distribution}")
        dists = {}
        for name, spec in space.items():
            try:
                dists[name] = json_to_distribution(spec if isinstance(spec, str) else json.dumps(spec))
            except Exception as e:  # Optuna raises ValueError, KeyError or TypeError here
                raise ApiError(400, f"search_space[{name!r}]: {type(e).__name__}: {e}") from None
        request_id = body.get("request_id")
        user_attrs = body.get("user_attrs") or {}
        if not isinstance(user_attrs, dict):
            raise ApiError(400, "user_attrs must be an object {key: value}")
        max_trials = body.get("max_trials")
        if max_trials is not None and (not isinstance(max_trials, int) or isinstance(max_trials, bool)
                                       or max_trials < 1):
            raise ApiError(400, "max_trials must be a positive integer")
        s = self.study(study_id)
        trials = s.get_trials(deepcopy=False)
        if request_id:
            for t in trials:
                if t.state == TrialState.RUNNING and t.system_attrs.get(REQUEST_ID_ATTR) == request_id:
                    return 200, self.asked(t, t.params, t.distributions)
        if max_trials is not None:
            # Several workers share the study: the budget is decided here, under the lock, so
            # no two can both take the last trial. Running and finished trials count; those a
            # stopped sweep failed as "interrupted" do not (they are run again).
            counted = sum(1 for t in trials if t.state != TrialState.WAITING and not (
                t.state == TrialState.FAIL and t.user_attrs.get("fail_reason") == "interrupted"))
            if counted >= max_trials:
                return 200, {"done": True, "trials": counted}
        for t in trials:  # Optuna would fail half-way through the ask; refuse it before
            for name, old in t.distributions.items():
                if name in dists:
                    try:
                        check_distribution_compatibility(old, dists[name])
                    except ValueError as e:
                        raise ApiError(400, f"search_space[{name!r}] does not match trial {t.number}'s "
                                            f"{old}: {e}") from None
        if self.args.sampler == "grid":
            self.use_grid(s, dists)
        try:
            trial = s.ask(fixed_distributions=dists)
        except ValueError as e:
            raise ApiError(400, f"ask failed: {e}") from None
        if request_id:
            self.storage.set_trial_system_attr(trial._trial_id, REQUEST_ID_ATTR, request_id)
        for k, v in user_attrs.items():  # e.g. kiln_worker = host:pid, for recovery after a kill
            trial.set_user_attr(k, v)
        self.trial_study[trial._trial_id] = study_id
        return 200, self.asked(trial, trial.params, dists)

    @staticmethod
    def asked(trial, params, dists):
        return {"trial_id": trial._trial_id, "number": trial.number,
                "params": clean(dict(params)),
                "params_internal": {n: clean(dists[n].to_internal_repr(v)) for n, v in params.items()}}

    def use_grid(self, s, dists):
        grid = {}
        for name, d in dists.items():
            if isinstance(d, CategoricalDistribution):
                grid[name] = list(d.choices)
            elif isinstance(d, optuna.distributions.IntDistribution):
                grid[name] = list(range(d.low, d.high + 1, d.step))
            elif d.step is not None:
                n = int(round((d.high - d.low) / d.step))
                grid[name] = [d.low + i * d.step for i in range(n + 1)]
            else:
                raise ApiError(400, f"search_space[{name!r}]: the grid sampler needs a step or "
                                    "choices for every parameter")
        cur = s.sampler
        if not isinstance(cur, optuna.samplers.GridSampler) or cur._search_space != dict(sorted(grid.items())):
            s.sampler = optuna.samplers.GridSampler(grid, seed=self.args.seed)

    def report(self, trial_id, body):
        step, value = body.get("step"), to_float(body.get("value"), "value")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step != int(step) or step < 0:
            raise ApiError(400, f"step must be an integer >= 0, not {step!r}")
        step = int(step)
        s = self.study(self.study_of_trial(trial_id))
        if len(s.directions) > 1:
            raise ApiError(400, "report/should_prune is not supported for multi-objective studies")
        t = self.storage.get_trial(trial_id)
        if t.system_attrs.get(PRUNED_AT_ATTR) is not None:
            return 200, {"should_prune": True}
        if t.state != TrialState.RUNNING:
            raise ApiError(400, f"trial {t.number} is {STATE_NAMES[t.state]}: it takes no more reports")
        if step not in t.intermediate_values:  # a repeated step: Optuna ignores it too
            self.storage.set_trial_intermediate_value(trial_id, step, value)
            t = self.storage.get_trial(trial_id)
        prune = bool(s.pruner.prune(s, t))
        if prune:
            self.storage.set_trial_system_attr(trial_id, PRUNED_AT_ATTR, step)
        return 200, {"should_prune": prune}

    def tell(self, trial_id, body):
        state = TELL_STATES.get(body.get("state"))
        if state is None:
            raise ApiError(400, f'state must be "Complete", "Pruned" or "Fail", not {body.get("state")!r}')
        values = body.get("values")
        if values is not None:
            if not isinstance(values, list):
                raise ApiError(400, "values must be a list of numbers")
            values = [to_float(v, "values[]") for v in values]
        user_attrs = body.get("user_attrs") or {}
        if not isinstance(user_attrs, dict):
            raise ApiError(400, "user_attrs must be an object")
        skip = bool(body.get("skip_if_finished", False))
        s = self.study(self.study_of_trial(trial_id))
        t = self.storage.get_trial(trial_id)
        if t.state.is_finished() and skip:
            return 204, None
        if t.state == TrialState.RUNNING:
            for k, v in user_attrs.items():  # before the state: a finished trial takes no attrs
                self.storage.set_trial_user_attr(trial_id, k, v)
        try:
            s.tell(t.number, values=values, state=state, skip_if_finished=skip)
        except ValueError as e:
            raise ApiError(400, str(e)) from None
        except RuntimeError as e:
            # GridSampler.after_trial calls study.stop() once the grid is used up, which raises
            # outside optimize(); the state was already stored by then.
            if "Study.stop" not in str(e):
                raise
        return 204, None

    def set_user_attrs(self, trial_id, body):
        attrs = body.get("user_attrs")
        if not isinstance(attrs, dict):
            raise ApiError(400, "user_attrs must be an object {key: value}")
        self.study_of_trial(trial_id)
        if self.storage.get_trial(trial_id).state.is_finished():
            raise ApiError(400, f"trial id {trial_id} is finished: its attrs cannot change")
        for k, v in attrs.items():
            self.storage.set_trial_user_attr(trial_id, k, v)
        return 204, None

    def requeue(self, trial_id, body):
        """Queues a FAIL trial's params again as a WAITING trial, as Optuna's
        RetryFailedTrialCallback does (failed_trial, retry_history); the next ask pops it.
        Idempotent: a retry of that trial already queued is returned, not queued twice."""
        s = self.study(self.study_of_trial(trial_id))
        t = self.storage.get_trial(trial_id)
        if t.state != TrialState.FAIL:
            raise ApiError(409, f"trial {t.number} is {t.state.name}: only a FAIL trial is queued again")
        for other in s.get_trials(deepcopy=False):
            h = other.system_attrs.get("retry_history")
            if isinstance(h, list) and h and h[-1] == t.number:
                return 200, {"trial_id": other._trial_id, "number": other.number, "created": False}
        attrs = {"failed_trial": t.number, "retry_history": [],
                 **{k: v for k, v in t.system_attrs.items() if k != REQUEST_ID_ATTR}}
        attrs["retry_history"] = list(attrs["retry_history"]) + [t.number]
        s.add_trial(optuna.trial.create_trial(state=TrialState.WAITING, params=t.params,
                                              distributions=t.distributions, system_attrs=attrs))
        new = s.get_trials(deepcopy=False)[-1]
        return 201, {"trial_id": new._trial_id, "number": new.number, "created": True}


ROUTES = [  # (method, path regex, handler(service, match, body, query))
    ("GET", r"/api/health", lambda sv, m, b, q: (200, {"ok": True, "optuna_version": optuna.__version__})),
    ("GET", r"/api/studies", lambda sv, m, b, q: sv.list_studies()),
    ("POST", r"/api/studies", lambda sv, m, b, q: sv.create_study(b)),
    ("GET", r"/api/studies/(\d+)",
     lambda sv, m, b, q: sv.get_study(int(m[1]), int(q.get("after", ["0"])[0]))),
    ("POST", r"/api/studies/(\d+)/ask", lambda sv, m, b, q: sv.ask(int(m[1]), b)),
    ("POST", r"/api/trials/(\d+)/report", lambda sv, m, b, q: sv.report(int(m[1]), b)),
    ("POST", r"/api/trials/(\d+)/tell", lambda sv, m, b, q: sv.tell(int(m[1]), b)),
    ("POST", r"/api/trials/(\d+)/user-attrs", lambda sv, m, b, q: sv.set_user_attrs(int(m[1]), b)),
    ("POST", r"/api/trials/(\d+)/requeue", lambda sv, m, b, q: sv.requeue(int(m[1]), b)),
]


def make_handler(service, token):
    class Handler(BaseHTTPRequestHandler):
        server_version = "kiln-optuna-server/1"

        def log_request(self, code="-", size="-"):
            pass  # one line per request is written by finish_request below

        def log_message(self, fmt, *args):
            sys.stderr.write(f"{time.strftime('%H:%M:%S')} {self.address_string()} {fmt % args}\n")

        def do_GET(self):
            self.dispatch("GET")

        def do_POST(self):
            self.dispatch("POST")

        def dispatch(self, method):
            t0 = time.monotonic()
            try:
                status, payload = self.route(method)
            except ApiError as e:
                status, payload = e.status, {"reason": e.reason}
            except Exception as e:  # a bug or a storage failure: 5xx, which clients retry
                traceback.print_exc()
                status, payload = 500, {"reason": f"{type(e).__name__}: {e}"}
            self.reply(status, payload)
            self.log_message('"%s %s" %d %.1f ms', method, self.path, status, (time.monotonic() - t0) * 1e3)

        def route(self, method):
            if token:
                got = self.headers.get("Authorization", "")
                if not hmac.compare_digest(got.encode(), f"Bearer {token}".encode()):
                    raise ApiError(401, "missing or wrong bearer token (send 'Authorization: Bearer <token>')")
            url = urlsplit(self.path)
            allowed = []
            for m_name, pattern, fn in ROUTES:
                m = re.fullmatch(pattern, url.path.rstrip("/") or "/")
                if m:
                    allowed.append(m_name)
                    if m_name == method:
                        body = self.read_body() if method == "POST" else {}
                        with service.lock:
                            return fn(service, m, body, parse_qs(url.query))
            if allowed:
                raise ApiError(405, f"{method} is not allowed on {url.path} (use {', '.join(allowed)})")
            raise ApiError(404, f"no endpoint {url.path}")

        def read_body(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY_BYTES:
                raise ApiError(400, f"request body of {n} bytes is too large")
            raw = self.rfile.read(n) if n else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError as e:
                raise ApiError(400, f"request body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise ApiError(400, "request body must be a JSON object")
            return body

        def reply(self, status, payload):
            data = b"" if payload is None else json.dumps(payload, allow_nan=False).encode()
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", "Bearer")
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

    return Handler


def parse_args(argv):
    p = argparse.ArgumentParser(description="HTTP ask/report/tell server on real Optuna, for kiln sweep.")
    p.add_argument("--storage", required=True,
                   help="Optuna storage URL (sqlite:///x.db, postgresql://...) or a journal file path")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    p.add_argument("--token", default=None,
                   help="require 'Authorization: Bearer TOKEN' (default: $KILN_OPTUNA_TOKEN, else none)")
    p.add_argument("--sampler", choices=["tpe", "random", "grid"], default="tpe")
    p.add_argument("--seed", type=int, default=None, help="sampler seed")
    p.add_argument("--tpe-startup-trials", type=int, default=10, help="TPE's n_startup_trials")
    p.add_argument("--pruner", choices=["median", "successive_halving", "hyperband", "none"], default="median")
    p.add_argument("--n-startup-trials", type=int, default=5, help="MedianPruner's n_startup_trials")
    p.add_argument("--n-warmup-steps", type=int, default=0, help="MedianPruner's n_warmup_steps")
    p.add_argument("--interval-steps", type=int, default=1, help="MedianPruner's interval_steps")
    p.add_argument("--min-resource", default="auto", help="successive halving / hyperband min_resource")
    p.add_argument("--reduction-factor", type=int, default=None,
                   help="successive halving (default 4) / hyperband (default 3) reduction_factor")
    a = p.parse_args(argv)
    if a.min_resource != "auto" and not a.min_resource.isdigit():
        p.error(f"--min-resource must be 'auto' or a positive integer, not {a.min_resource!r}")
    return a


def main(argv=None):
    args = parse_args(argv)
    token = args.token if args.token is not None else os.environ.get("KILN_OPTUNA_TOKEN", "")
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    try:
        service = Service(open_storage(args.storage), args)
    except Exception as e:  # a bad URL, a missing database driver, an unreachable database
        sys.exit(f"optuna_server: cannot open storage {args.storage}: {type(e).__name__}: {e}")
    try:
        server = ThreadingHTTPServer((args.host, args.port), make_handler(service, token))
    except OSError as e:
        sys.exit(f"optuna_server: cannot listen on {args.host}:{args.port}: {e}")

    def stop(signum, frame):  # shutdown() waits for serve_forever, so it needs its own thread
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    sys.stderr.write(f"optuna_server: optuna {optuna.__version__}, storage {args.storage}, "
                     f"sampler {args.sampler}, pruner {args.pruner}, token {'on' if token else 'off'}\n")
    server.serve_forever()
    server.server_close()
    with service.lock:  # let an Optuna call in flight finish its write
        pass
    sys.stderr.write("optuna_server: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
