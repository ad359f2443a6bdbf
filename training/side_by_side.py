"""Run several trainings at once on one machine (e.g. small models sharing one GPU), from a plan.

    python training/side_by_side.py training/plans/gpu-15min.json --runs-dir runs/gpu

The plan is a JSON list of runs: ``{"name": ..., "args": [train.py flags], "then": [[argv],
...]}``. The data caches are built once first (``train.py --prepare-data``), then every run starts
as its own ``accelerate launch`` process with its log in ``<runs-dir>/<name>.log``. A run's
``then`` commands (``{output}``: its folder, ``{python}``: this Python) start when it ends well,
while the others still train. A run that dies in its first minute (a start-up failure, not a
training one) is started once more in full precision. Ends with a table of every run's results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
ACCELERATE = Path(sys.executable).with_name("accelerate")


def accelerate_command(args: list[str], precision: str) -> list[str]:
    cli = [sys.executable, "-m", "accelerate.commands.accelerate_cli"]
    launcher = [str(ACCELERATE)] if ACCELERATE.exists() else cli
    device = [] if torch.cuda.is_available() else ["--cpu"]
    return [
        *launcher, "launch", *device, "--num_processes", "1", "--num_machines", "1",
        "--mixed_precision", precision, "--dynamo_backend", "no",
        str(HERE / "train.py"), *args,
    ]  # fmt: skip


class Run:
    def __init__(self, spec: dict, runs_dir: Path, extra: list[str], threads: int):
        self.name, self.then = spec["name"], spec.get("then", [])
        self.output = runs_dir / self.name
        self.args = [*spec["args"], *extra, "--output", str(self.output)]
        self.log = runs_dir / f"{self.name}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": str(threads)}
        self.retried, self.rc, self.process = False, None, None
        self.precision = "bf16" if torch.cuda.is_available() else "no"

    def start(self) -> None:
        shutil.rmtree(self.output, ignore_errors=True)
        self.started = time.monotonic()
        command = accelerate_command(self.args, self.precision)
        with open(self.log, "a") as log:  # the child keeps its own copy of the descriptor
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )

    def poll(self) -> bool:
        """True once the run (and its ``then`` commands) are over."""
        if self.rc is not None:
            return True
        rc = self.process.poll()
        if rc is None:
            return False
        if rc != 0 and not self.retried and time.monotonic() - self.started < 60:
            print(f"[{self.name}] failed at start-up (rc {rc}); again in full precision")
            self.retried, self.precision = True, "no"
            self.start()
            return False
        self.rc = rc
        print(f"[{self.name}] ended, rc {rc}, after {time.monotonic() - self.started:.0f} s")
        if rc == 0:
            for command in self.then:
                argv = [a.replace("{output}", str(self.output)) for a in command]
                argv = [a.replace("{python}", sys.executable) for a in argv]
                with open(self.log, "a") as log:
                    log.write(f"$ {' '.join(argv)}\n")
                    log.flush()
                    self.rc = subprocess.call(argv, stdout=log, stderr=subprocess.STDOUT)
        return True


DATA_FLAGS = ("--train-dirs", "--scale", "--scale-aug", "--cache-dir")


def data_flags(args: list[str]) -> list[str]:
    """The flags (with values) of ``args`` that decide the training data's caches."""
    kept = []
    for flag, value in zip(args, args[1:], strict=False):  # pairs of neighbours
        if flag in DATA_FLAGS:
            kept += [flag, value]
    return kept


def summary_row(run: Run) -> str:
    path = run.output / "train_summary.json"
    if not path.is_file():
        return f"{run.name:<14} rc {run.rc}: no summary, see {run.log}"
    s = json.loads(path.read_text())
    r = s["results"]
    cells = " ".join(f"{k}:{v['psnr']:.2f}" for k, v in r.items())
    return (
        f"{run.name:<14} {s['params']:>9,} params {s['steps']:>7} steps "
        f"{s['train_seconds'] / 60:5.2f} min  {cells}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("plan", type=Path, help="JSON list of runs")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/side-by-side"))
    parser.add_argument("--only", nargs="*", help="run only these names")
    parser.add_argument(
        "--extra", default="", help="flags appended to every run (e.g. for a short dry run)"
    )
    args = parser.parse_args(argv)

    plan = json.loads(args.plan.read_text())
    if args.only:
        plan = [spec for spec in plan if spec["name"] in args.only]
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    threads = max(1, (os.cpu_count() or 1) // max(1, len(plan)))
    runs = [Run(spec, args.runs_dir, args.extra.split(), threads) for spec in plan]

    # Runs share their data caches: build each distinct one once, before any run starts.
    prepared = set()
    for run in runs:
        key = tuple(data_flags(run.args))
        if key not in prepared:
            prepare = [sys.executable, str(HERE / "train.py"), *key, "--prepare-data"]
            subprocess.run(prepare, check=True, env={**run.env, "OMP_NUM_THREADS": "1"})
            prepared.add(key)

    t0 = time.monotonic()
    for run in runs:
        run.start()
    while not all([run.poll() for run in runs]):  # a list: poll every run, every time
        time.sleep(2)
    print(f"all runs over after {time.monotonic() - t0:.0f} s")
    for run in runs:
        print(summary_row(run))
    return 0 if all(run.rc == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
