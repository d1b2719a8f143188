"""`make bench`: run every tests/bench/bench_*.py in turn and print their figures.

Benchmarks are programs, not tests: each prints its own figures and cleans up after itself.
A benchmark that fails is reported and makes the run exit non-zero after the others ran."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"== {script.stem}", flush=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], check=False)
        print(f"   ({time.monotonic() - started:.1f} s)", flush=True)
        if proc.returncode != 0:
            failed.append(script.stem)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
