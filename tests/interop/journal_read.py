#!/usr/bin/env python3
"""Prints one study of a journal file as real Optuna reads it, as JSON on stdout, for
tests/optuna/journal_interop_test.cpp to compare field by field with kiln's own replay. NaN and
infinities come out as Python's bare NaN/Infinity tokens (kiln's reader accepts them).

usage: journal_read.py JOURNAL_PATH STUDY_NAME
"""
import json
import sys
import warnings

import optuna
from optuna.distributions import distribution_to_json
from optuna.storages.journal import JournalFileBackend, JournalStorage


def iso(dt):
    return None if dt is None else dt.isoformat(timespec="microseconds")


def dump_trial(t):
    return {
        "trial_id": t._trial_id,
        "number": t.number,
        "state": t.state.name,
        "params": t.params,  # external values
        "distributions": {k: distribution_to_json(d) for k, d in t.distributions.items()},
        "values": t.values,
        "intermediate_values": {str(s): v for s, v in t.intermediate_values.items()},
        "user_attrs": t.user_attrs,
        "system_attrs": t.system_attrs,
        "datetime_start": iso(t.datetime_start),
        "datetime_complete": iso(t.datetime_complete),
    }


def dump_study(study):
    return {
        "study_name": study.study_name,
        "study_id": study._study_id,
        "directions": [int(d) for d in study.directions],
        "user_attrs": study.user_attrs,
        "system_attrs": study.system_attrs,
        "trials": [dump_trial(t) for t in study.get_trials(deepcopy=False)],
    }


def open_study(path, name):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(path))
    return optuna.load_study(study_name=name, storage=storage)


if __name__ == "__main__":
    print(json.dumps(dump_study(open_study(sys.argv[1], sys.argv[2]))))
