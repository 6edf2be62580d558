#!/usr/bin/env python3
"""A Python worker sharing a journal file with kiln: an ask/report/tell loop of N trials on
an existing study. It creates READY_FILE once the study is open, so the C++ test starts its
own trials at the same time. Each trial: x float [0, 1], k int [1, 8], c in ["a", "b"];
report(2x, step 0); value x + k + (0.5 if c == "b"); user attr owner = "python".

usage: journal_worker.py JOURNAL_PATH STUDY_NAME N READY_FILE
"""
import sys
import warnings

import optuna
from optuna.storages.journal import JournalFileBackend, JournalStorage


def main(path, name, n, ready_file):
    warnings.simplefilter("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(path))
    study = optuna.load_study(study_name=name, storage=storage,
                              sampler=optuna.samplers.RandomSampler(seed=3))
    open(ready_file, "w").close()
    for _ in range(n):
        t = study.ask()
        x = t.suggest_float("x", 0.0, 1.0)
        k = t.suggest_int("k", 1, 8)
        c = t.suggest_categorical("c", ["a", "b"])
        t.set_user_attr("owner", "python")
        t.report(2 * x, 0)
        study.tell(t, x + k + (0.5 if c == "b" else 0.0))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
