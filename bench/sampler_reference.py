#!/usr/bin/env python3
"""Optuna's side of bench/sampler_vs_optuna.sh: the same 4-parameter synthetic objective as
`kiln bench sampler`, TPESampler (4.x defaults) on a JournalStorage file, ask + tell per trial.
Prints one JSON line: mean ask + tell ms over the 10 trials before trial 100 and trial 1000.

usage: sampler_reference.py [TRIALS] [SEED]
"""
import json
import math
import os
import sys
import tempfile
import time
import warnings

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage


def main(trials, seed):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {
        "lr": optuna.distributions.FloatDistribution(1e-5, 1e-1, log=True),
        "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
        "layers": optuna.distributions.IntDistribution(1, 8),
        "opt": optuna.distributions.CategoricalDistribution(["adam", "sgd", "adamw"]),
    }
    with tempfile.TemporaryDirectory() as d:
        storage = JournalStorage(JournalFileBackend(os.path.join(d, "study.journal")))
        study = optuna.create_study(study_name="bench", storage=storage,
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        ms = []
        for _ in range(trials):
            t0 = time.perf_counter()
            t = study.ask(space)
            p = t.params
            v = ((math.log10(p["lr"]) + 3) ** 2 + (p["dropout"] - 0.1) ** 2 + 0.05 * abs(p["layers"] - 4)
                 + (0 if p["opt"] == "adamw" else 0.2))
            study.tell(t, v)
            ms.append((time.perf_counter() - t0) * 1000)
    out = {"sampler": "optuna-tpe", "optuna": optuna.__version__, "trials": trials,
           "ask_tell_ms": {str(p): sum(ms[p - 10:p]) / 10 for p in (100, 1000) if p <= trials},
           "total_s": sum(ms) / 1000}
    print(json.dumps(out))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000, int(sys.argv[2]) if len(sys.argv) > 2 else 0)
