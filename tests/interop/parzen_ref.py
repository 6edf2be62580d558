"""Reference numbers from Optuna's TPE internals, for kiln's Parzen estimator tests
(tests/optuna/parzen_test.cpp). Only deterministic quantities are asked for: densities and the
truncated normal's inverse CDF, never random draws.

Usage: python parzen_ref.py IN.json > OUT.json

IN.json: {"cases": [{"dist": <distribution JSON, abbreviated form>, "observations": [internal...],
                     "points": [internal...]}],
          "ppf": [[q, a, b], ...], "log_gauss_mass": [[a, b], ...]}
OUT.json: {"log_pdf": [[...] per case], "ppf": [...], "log_gauss_mass": [...],
           "gamma": [default_gamma(n) for n in 0..100], "weights": {"<n>": default_weights(n)}}
Non-finite results are written as null.
"""
import json
import math
import sys

import numpy as np
import optuna
from optuna.samplers._tpe import _truncnorm
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_gamma
from optuna.samplers._tpe.sampler import default_weights


def finite_or_none(values):
    return [float(v) if math.isfinite(v) else None for v in values]


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    # Optuna 4.9's TPESampler defaults.
    params = _ParzenEstimatorParameters(
        prior_weight=1.0,
        consider_magic_clip=True,
        consider_endpoints=False,
        weights=default_weights,
        multivariate=False,
        categorical_distance_func={},
    )
    log_pdfs = []
    for case in spec["cases"]:
        dist = optuna.distributions.json_to_distribution(json.dumps(case["dist"]))
        obs = {"x": np.asarray(case["observations"], dtype=float)}
        pe = _ParzenEstimator(obs, {"x": dist}, params)
        lp = pe.log_pdf({"x": np.asarray(case["points"], dtype=float)})
        log_pdfs.append(finite_or_none(lp))
    ppf = [_truncnorm.ppf(np.asarray([q]), np.asarray([a]), np.asarray([b]))[0]
           for q, a, b in spec["ppf"]]
    mass = [_truncnorm._log_gauss_mass(np.asarray([a]), np.asarray([b]))[0]
            for a, b in spec["log_gauss_mass"]]
    out = {
        "log_pdf": log_pdfs,
        "ppf": finite_or_none(ppf),
        "log_gauss_mass": finite_or_none(mass),
        "gamma": [default_gamma(n) for n in range(101)],
        "weights": {
            str(n): list(map(float, default_weights(n))) for n in (0, 1, 24, 25, 26, 27, 40)
        },
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
