#!/usr/bin/env python3
"""Reference output of real Optuna for tests/optuna/distribution_json_test.cpp. Reads a JSON
list on stdin and prints one line per item:
  {"dist": <any json_to_distribution form>} -> distribution_to_json(json_to_distribution(...)),
                                              a deprecated class as its new equivalent (what kiln writes)
  {"float_hex": "<hex float, C %a>"}          -> json.dumps(float) of that exact double
  {"dumps": <any JSON>}                      -> json.dumps of it (ensure_ascii, default separators)

usage: distribution_json.py < items.json
"""
import json
import sys
import warnings

from optuna.distributions import (CategoricalDistribution, FloatDistribution, IntDistribution,
                                  distribution_to_json, json_to_distribution)


def as_new_class(d):
    """UniformDistribution & co. are subclasses of Float/IntDistribution: the same values."""
    if type(d) in (FloatDistribution, IntDistribution, CategoricalDistribution):
        return d
    if isinstance(d, FloatDistribution):
        return FloatDistribution(d.low, d.high, log=d.log, step=d.step)
    return IntDistribution(d.low, d.high, log=d.log, step=d.step)


def main():
    warnings.simplefilter("ignore")  # the deprecated classes warn
    for item in json.load(sys.stdin):
        if "dist" in item:
            print(distribution_to_json(as_new_class(json_to_distribution(json.dumps(item["dist"])))))
        elif "float_hex" in item:
            print(json.dumps(float.fromhex(item["float_hex"])))
        else:
            print(json.dumps(item["dumps"]))


if __name__ == "__main__":
    main()
