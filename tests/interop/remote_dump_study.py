#!/usr/bin/env python3
"""Prints one study of a journal file as JSON, read back by real Optuna, for
tests/sweep/remote_test.cpp to compare with what kiln's remote client sent.

usage: remote_dump_study.py JOURNAL_PATH|STORAGE_URL STUDY_NAME
(a URL such as postgresql+psycopg2://... goes to Optuna's RDB storage as it is)
"""
import json
import math
import sys
import warnings

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage


def num(x):
    if x is None:
        return None
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main(path, name):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = path if "://" in path else JournalStorage(JournalFileBackend(path))
    study = optuna.load_study(study_name=name, storage=storage)
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append({
            "trial_id": t._trial_id, "number": t.number, "state": t.state.name,
            "value": num(t.value) if t.values is not None else None,
            "params": {k: t.distributions[k].to_internal_repr(v) for k, v in t.params.items()},
            "external": t.params,
            "intermediate": {str(s): num(v) for s, v in t.intermediate_values.items()},
            "user_attrs": t.user_attrs,
        })
    print(json.dumps({"direction": study.direction.name, "metric_names": study.metric_names,
                      "trials": trials}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
