"""Reference distributions from real Optuna, for tests/optuna/distribution_test.cpp: validation, the
snapping of `high` onto the step grid, single() and _contains().

Usage: python space_ref.py IN.json > OUT.json

IN.json: {"cases": [{"kind": "float" | "int", "low": x, "high": x, "log": bool,
                     "step": x | null, "values": [internal repr, ...]}]}
(ints are JSON integers; a float case's step null means no step.)

OUT.json: {"results": [null | {"high": float(d.high), "single": bool,
                               "contains": "0110..."}]}
One result per case, in order: null where the constructor raised, else the snapped `high`,
single(), and one "1"/"0" per value for d._contains(float(value)).
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")

from optuna.distributions import FloatDistribution, IntDistribution  # noqa: E402


def make(case):
    if case["kind"] == "float":
        step = case["step"]
        return FloatDistribution(float(case["low"]), float(case["high"]), log=case["log"],
                                 step=None if step is None else float(step))
    return IntDistribution(int(case["low"]), int(case["high"]), log=case["log"],
                           step=int(case["step"]))


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)["cases"]
    results = []
    for case in cases:
        try:
            d = make(case)
        except Exception:
            results.append(None)
            continue
        results.append({
            "high": float(d.high),
            "single": bool(d.single()),
            "contains": "".join("1" if d._contains(float(v)) else "0" for v in case["values"]),
        })
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
