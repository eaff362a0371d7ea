"""Benchmark: validate, plan and synth times per example and for generated 1/10/50-model blueprints.

    .venv/bin/python benchmarks/bench.py [--runs 5] [--env prod]

Prints medians of several in-process runs (the first synth of each cloud also pays for importing
its SDK; that cold time is printed separately) and resources per second of synth.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlops.blueprint import load_blueprint  # noqa: E402
from mlops.plan import plan_loaded  # noqa: E402


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def generated(models: int, directory: Path) -> Path:
    """The fraud example with its model copied `models` times under distinct names."""
    data = yaml.safe_load((ROOT / "blueprints/fraud-detection-aws.yaml").read_text())
    template = data["models"][0]
    data["models"] = [{**template, "name": f"model-{i:03d}"} for i in range(1, models + 1)]
    path = directory / f"generated-{models}-models.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median is printed)")
    parser.add_argument("--env", default="prod", help="environment to plan and synth")
    args = parser.parse_args()

    from mlops.synth import synth

    with tempfile.TemporaryDirectory() as tmp:
        cases = sorted((ROOT / "blueprints").glob("*.yaml"))
        cases += [generated(n, Path(tmp)) for n in (1, 10, 50)]
        header = f"{'blueprint':38} {'validate ms':>11} {'plan ms':>8} {'synth cold s':>12} " \
                 f"{'synth s':>8} {'resources':>9} {'res/s':>7}"
        print(f"runs={args.runs} env={args.env}\n{header}\n{'-' * len(header)}")
        for path in cases:
            name = path.name
            validate = median_seconds(lambda p=path: load_blueprint(p), args.runs)
            loaded = load_blueprint(path)
            plan = median_seconds(lambda lb=loaded: plan_loaded(lb, args.env), args.runs)
            started = time.perf_counter()
            result = synth(str(path), args.env)
            cold = time.perf_counter() - started
            warm = median_seconds(lambda p=path: synth(str(p), args.env), args.runs)
            count = len(result.resources)
            print(f"{name:38} {validate * 1000:11.1f} {plan * 1000:8.2f} {cold:12.2f} {warm:8.3f} "
                  f"{count:9d} {count / warm:7.0f}", flush=True)


if __name__ == "__main__":
    main()
