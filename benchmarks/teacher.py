"""Teacher fine-tuning benchmark: wall time and test accuracy on the embedded default
(rotten_tomatoes, packaged) and on SST-2 from ../shared/data (5,000-example training subsample).

    .venv/bin/python benchmarks/teacher.py                   # both
    .venv/bin/python benchmarks/teacher.py --only rotten_tomatoes

Targets (issue 2): rotten_tomatoes <= 10 min and >= 80% test accuracy on 2 CPU cores;
SST-2 >= 84%.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from codistill.data import DataConfig
from codistill.teacher import TeacherConfig, train_teacher

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

RUNS = {
    "rotten_tomatoes": TeacherConfig(),
    "sst2": TeacherConfig(
        data=DataConfig(task="sst2", data_dir=str(SHARED / "sst2")), max_train_examples=5000
    ).with_overrides(["train.epochs=2"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(RUNS))
    parser.add_argument("--output-root", default=None, help="keep the teachers here (default: a temporary directory)")
    args = parser.parse_args()
    root = Path(args.output_root or tempfile.mkdtemp(prefix="codistill-teacher-bench-"))
    rows = []
    for name, config in RUNS.items():
        if args.only and name != args.only:
            continue
        started = time.perf_counter()
        result = train_teacher(config.with_overrides({"output_dir": str(root / name)}), force=True)
        rows.append({"task": name, "wall_seconds": round(time.perf_counter() - started, 1), **result.metrics["test"]})
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
