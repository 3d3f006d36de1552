"""Reads a bench script's results file (one `NAME VALUE` per line, runs interleaved) into every run of each name and
the median of each: what every script in bench/tools reports from."""

import statistics


def load(path):
    runs = {}
    with open(path) as results:
        for line in results:
            name, value = line.split()
            runs.setdefault(name, []).append(float(value))
    return runs, {name: statistics.median(values) for name, values in runs.items()}
