#!/usr/bin/env python3
"""Run every Molecule scenario (`molecule test -s NAME`), a few at a time, and fail if any fails.

Each scenario brings up its own lab (distinct lab names), so scenarios are independent and can overlap; on a
2-core machine two at a time finish the set sooner than one after another because much of a scenario is spent
waiting on SSH and guest boots. Longest first (by the durations of the previous run on this machine, kept in the
cache directory, else by the rough solo estimates in molecule/durations.json) so the slowest scenario does not
start last. Each scenario's output goes to its own log file, printed
whole when the scenario fails and summarised (name, result, wall time) at the end.

Usage: run-molecule.py [--jobs N] [SCENARIO ...]     (N defaults to $LVS_MOLECULE_JOBS or 2)
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIOS_DIR = ROOT / "molecule"
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "lvs-cluster"
DURATIONS = CACHE / "molecule-durations.json"
ESTIMATES = SCENARIOS_DIR / "durations.json"


def all_scenarios():
    return sorted(p.parent.name for p in SCENARIOS_DIR.glob("*/molecule.yml"))


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def load_durations():
    durations = read_json(ESTIMATES)
    durations.update(read_json(DURATIONS))
    return durations


def save_durations(durations):
    CACHE.mkdir(parents=True, exist_ok=True)
    DURATIONS.write_text(json.dumps(durations, indent=1, sort_keys=True) + "\n")


def run_scenario(name, log_dir):
    log_path = log_dir / (name + ".log")
    started = time.monotonic()
    with open(log_path, "w") as log:
        result = subprocess.run(["molecule", "test", "-s", name], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    return name, result.returncode, time.monotonic() - started, log_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("LVS_MOLECULE_JOBS", "2")))
    parser.add_argument("scenarios", nargs="*")
    args = parser.parse_args(argv)
    known = all_scenarios()
    unknown = sorted(set(args.scenarios) - set(known))
    if unknown:
        parser.error("unknown scenario(s) %s; known: %s" % (", ".join(unknown), ", ".join(known)))
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if not (ROOT / "build" / "ansible_collections" / "lvs" / "cluster" / "MANIFEST.json").is_file():
        parser.error("the collection is not installed in build/: run `make collection` first (the scenarios use it; "
                     "Molecule's prerun, which would install it, is off because scenarios run in parallel)")
    durations = load_durations()
    chosen = sorted(args.scenarios or known, key=lambda n: (-durations.get(n, 0), n))
    log_dir = pathlib.Path(os.environ.get("LVS_MOLECULE_LOG_DIR") or ROOT / "build" / "molecule-logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    print("Molecule: %s, %d at a time; logs in %s" % (", ".join(chosen), args.jobs, log_dir), flush=True)

    failed = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_scenario, name, log_dir) for name in chosen]
        for future in concurrent.futures.as_completed(futures):
            name, code, seconds, log_path = future.result()
            print("  %-16s %s in %4.0f s" % (name, "passed" if code == 0 else "FAILED (exit %d)" % code, seconds),
                  flush=True)
            if code == 0:
                durations[name] = round(seconds)
            else:
                failed.append(name)
                print("----- %s -----\n%s----- end of %s -----" % (log_path, log_path.read_text(), name), flush=True)
    save_durations(durations)
    print("Molecule: %d scenario(s) in %.0f s, %d failed%s" % (
        len(chosen), time.monotonic() - started, len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
