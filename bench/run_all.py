"""Run every ``bench/bench_*.py`` in turn (``make bench``); their JSON lines go to stdout.

Each benchmark runs in its own interpreter, so one's imports, caches and garbage cannot
bend another's figures. A benchmark that fails is reported on stderr and the others still
run; the exit code is then 1.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: A benchmark taking longer than this is stopped (the whole suite aims for minutes).
TIMEOUT_S = 600


def main() -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    failed: list[str] = []
    start = time.perf_counter()
    for script in scripts:
        t0 = time.perf_counter()
        print(f"== {script.name}", file=sys.stderr, flush=True)
        try:
            # stdout is inherited: the JSON lines pass straight through.
            done = subprocess.run([sys.executable, str(script)], cwd=HERE, timeout=TIMEOUT_S)
            ok = done.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        took = time.perf_counter() - t0
        status = "ok" if ok else "FAILED"
        print(f"== {script.name}: {status} in {took:.1f} s", file=sys.stderr, flush=True)
        if not ok:
            failed.append(script.name)
    total = time.perf_counter() - start
    print(f"== {len(scripts)} benchmarks in {total:.1f} s", file=sys.stderr, flush=True)
    if failed:
        print(f"== failed: {', '.join(failed)}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
