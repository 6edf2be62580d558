#!/usr/bin/env python3
"""Real Optuna writes a journal file that kiln must read: a study "other" (one trial, then
deleted, so ids are shifted), and a study with ask/report/tell trials of every param kind:
complete, pruned, failed, still running, one added from a template (add_trial), one popped
from the queue (enqueue_trial) and one left WAITING. Prints the study as Optuna reads it
back (journal_read.dump_study) as JSON on stdout.

usage: journal_write.py JOURNAL_PATH STUDY_NAME
"""
import json
import sys
import warnings

import optuna
from optuna.distributions import FloatDistribution
from optuna.storages.journal import JournalFileBackend, JournalStorage
from optuna.trial import TrialState

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from journal_read import dump_study  # noqa: E402


def suggest_all(trial):
    return {
        "lr": trial.suggest_float("lr", 1e-5, 1e-1, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5, step=0.1),
        "layers": trial.suggest_int("layers", 1, 8),
        "width": trial.suggest_int("width", 16, 256, log=True),
        "opt": trial.suggest_categorical("opt", ["adam", "sgd", None, 3, 1.5, True]),
        "x": trial.suggest_float("x", -1.0, 1.0),
    }


def main(path, name):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(path))
    sampler = optuna.samplers.RandomSampler(seed=7)

    other = optuna.create_study(study_name="other", storage=storage, sampler=sampler)
    t = other.ask()
    t.suggest_float("y", 0.0, 1.0)
    other.tell(t, 0.5)

    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler,
                                direction="maximize")
    study.set_metric_names(["val_acc"])
    study.set_user_attr("owner", "python")
    study.set_user_attr("config", {"epochs": 3, "tags": ["a", "ü"]})

    t = study.ask()  # 0: complete, with non-finite intermediate values
    p = suggest_all(t)
    for step, v in enumerate([0.25, float("nan"), float("inf"), float("-inf"), 0.75]):
        t.report(v, step)
    t.set_user_attr("host", "node1")
    t.set_user_attr("nested", {"k": [1, 2.5, None]})
    t.storage.set_trial_system_attr(t._trial_id, "completed_rung_0", 0.25)
    study.tell(t, p["x"] + p["layers"])

    t = study.ask()  # 1: pruned (its value becomes the last report)
    suggest_all(t)
    t.report(0.1, 0)
    t.report(0.2, 3)
    study.tell(t, state=TrialState.PRUNED)

    t = study.ask()  # 2: failed
    suggest_all(t)
    t.set_user_attr("fail_reason", "diverged")
    study.tell(t, state=TrialState.FAIL)

    t = study.ask()  # 3: left running
    suggest_all(t)
    t.report(1.5, 2)

    study.add_trial(optuna.trial.create_trial(  # 4: template record with everything inline
        params={"x": 0.125, "layers": 3},
        distributions={"x": FloatDistribution(-1.0, 1.0),
                       "layers": optuna.distributions.IntDistribution(1, 8)},
        value=3.125, intermediate_values={0: 1.0, 5: 2.0}, user_attrs={"source": "add_trial"},
        system_attrs={"s": 1}))

    study.enqueue_trial({"lr": 0.01, "layers": 4, "opt": "sgd"})
    t = study.ask()  # 5: popped from the queue, fixed params win
    suggest_all(t)
    study.tell(t, 1.0)

    study.enqueue_trial({"lr": 0.001, "layers": 2, "opt": None})  # 6: left WAITING

    optuna.delete_study(study_name="other", storage=storage)
    print(json.dumps(dump_study(study)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
