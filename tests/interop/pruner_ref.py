"""Reference pruning decisions from real Optuna, for tests/optuna/pruner_interop_test.cpp.

Usage: python pruner_ref.py IN.json > OUT.json

IN.json: {"scenarios": [{"direction": "minimize" | "maximize",
                         "pruner": {"type": "median", "n_startup_trials", "n_warmup_steps",
                                    "interval_steps", "n_min_trials"}
                                 | {"type": "successive_halving", "min_resource" (0 = "auto"),
                                    "reduction_factor", "min_early_stopping_rate",
                                    "bootstrap_count"},
                         "events": [{"op": "ask", "trial": i},
                                    {"op": "report", "trial": i, "step": s, "value": v | null},
                                    {"op": "finish", "trial": i}]}]}
A null value stands for NaN (strict JSON has no NaN). Trials are asked in event order, so trial
numbers follow the order of the "ask" events. A report to a trial already pruned is skipped; a
pruned trial is told PRUNED at once; "finish" tells COMPLETE with the last reported value.

OUT.json: {"scenarios": [{"decisions": [[trial, step, pruned], ...],
                          "system_attrs": {"<trial>": {"completed_rung_0": v, ...}}}]}
"""
import json
import math
import sys

import optuna


def make_pruner(spec):
    if spec["type"] == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=spec["n_startup_trials"],
            n_warmup_steps=spec["n_warmup_steps"],
            interval_steps=spec["interval_steps"],
            n_min_trials=spec["n_min_trials"],
        )
    if spec["type"] == "successive_halving":
        min_resource = spec["min_resource"] or "auto"
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=min_resource,
            reduction_factor=spec["reduction_factor"],
            min_early_stopping_rate=spec["min_early_stopping_rate"],
            bootstrap_count=spec["bootstrap_count"],
        )
    raise ValueError("unknown pruner type: " + spec["type"])


def replay(scenario):
    study = optuna.create_study(
        direction=scenario["direction"],
        sampler=optuna.samplers.RandomSampler(seed=0),  # no params are suggested; any sampler
        pruner=make_pruner(scenario["pruner"]),
    )
    trials, last_value, pruned, decisions = {}, {}, set(), []
    for ev in scenario["events"]:
        i = ev["trial"]
        if ev["op"] == "ask":
            trials[i] = study.ask()
        elif ev["op"] == "report":
            if i in pruned:
                continue
            value = math.nan if ev["value"] is None else float(ev["value"])
            trials[i].report(value, ev["step"])
            last_value[i] = value
            decision = trials[i].should_prune()
            decisions.append([i, ev["step"], bool(decision)])
            if decision:
                study.tell(trials[i], state=optuna.trial.TrialState.PRUNED)
                pruned.add(i)
        elif ev["op"] == "finish":
            if i not in pruned:
                study.tell(trials[i], last_value[i])
        else:
            raise ValueError("unknown op: " + ev["op"])
    attrs = {}
    for i, t in trials.items():
        frozen = study._storage.get_trial(t._trial_id)
        rungs = {k: v for k, v in frozen.system_attrs.items() if k.startswith("completed_rung_")}
        attrs[str(i)] = rungs
    return {"decisions": decisions, "system_attrs": attrs}


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    out = {"scenarios": [replay(s) for s in spec["scenarios"]]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
