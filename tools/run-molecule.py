#!/usr/bin/env python3
"""Run every Molecule scenario (`molecule test -s NAME`), a few at a time, and fail if any fails.

Each scenario brings up its own lab (distinct lab names), so scenarios are independent and can overlap; on a
2-core machine two at a time finish the set sooner than one after another because much of a scenario is spent
waiting on SSH and guest boots. Longest first (by the durations of the previous run on this machine, kept in the
cache directory, else by the rough solo estimates in molecule/durations.json) so the slowest scenario does not
start last. Each scenario's output goes to its own log file, printed
whole when the scenario fails and summarised (name, result, wall time) at the end.

On SIGTERM or SIGINT no further scenario starts; each running one gets SIGINT in its own process group (Molecule,
Ansible and the lab tool below it stop as on Ctrl-C), SIGKILL after a grace period, and then `molecule destroy`, so
no lab outlives the run.

Usage: run-molecule.py [--jobs N] [SCENARIO ...]     (N defaults to $LVS_MOLECULE_JOBS or 2)
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCENARIOS_DIR = ROOT / "molecule"
CACHE = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache")) / "lvs-cluster"
DURATIONS = CACHE / "molecule-durations.json"
ESTIMATES = SCENARIOS_DIR / "durations.json"
STOP_GRACE_SECONDS = float(os.environ.get("LVS_MOLECULE_STOP_GRACE", "60"))
DESTROY_TIMEOUT_SECONDS = 600


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


class ScenarioRunner:
    """Runs scenarios as process groups of their own, so a stop reaches every process a scenario started."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.lock = threading.Lock()
        self.running = {}
        self.stopping = False
        self.interrupted = []
        self.killer = None

    def run(self, name):
        """Returns (name, exit code or None when never started, seconds, log path)."""
        log_path = self.log_dir / (name + ".log")
        started = time.monotonic()
        with open(log_path, "w") as log:
            with self.lock:
                if self.stopping:
                    return name, None, 0.0, log_path
                proc = subprocess.Popen(["molecule", "test", "-s", name], cwd=ROOT, stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
                self.running[name] = proc
            code = proc.wait()
            with self.lock:
                del self.running[name]
                if self.stopping:
                    self.interrupted.append(name)
        return name, code, time.monotonic() - started, log_path

    def stop(self, signum, _frame):
        """Signal handler: no new scenario starts; the running ones are interrupted (a watcher escalates)."""
        with self.lock:
            first = not self.stopping
            self.stopping = True
            groups = [proc.pid for proc in self.running.values()]
        print("run-molecule: %s: stopping %d running scenario(s)" % (signal.Signals(signum).name, len(groups)),
              flush=True)
        for pgid in groups:
            signal_group(pgid, signal.SIGINT)
        if first:
            self.killer = threading.Thread(target=self.kill_after_grace, args=(groups,), daemon=True)
            self.killer.start()

    @staticmethod
    def kill_after_grace(groups):
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and any(group_alive(pgid) for pgid in groups):
            time.sleep(0.5)
        for pgid in groups:
            signal_group(pgid, signal.SIGKILL)

    def destroy_interrupted(self):
        """Tear down the labs of the scenarios the stop interrupted (their own destroy step never ran), once every
        process they started is gone."""
        if self.killer is not None:
            self.killer.join()
        for name in sorted(self.interrupted):
            with open(self.log_dir / (name + ".log"), "a") as log:
                log.write("\n----- run-molecule: interrupted; molecule destroy -s %s -----\n" % name)
                log.flush()
                try:
                    subprocess.run(["molecule", "destroy", "-s", name], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, timeout=DESTROY_TIMEOUT_SECONDS, check=False)
                except subprocess.TimeoutExpired:
                    log.write("molecule destroy timed out after %d s\n" % DESTROY_TIMEOUT_SECONDS)
            print("  %-16s interrupted; its lab destroyed (log: %s)" % (name, self.log_dir / (name + ".log")),
                  flush=True)


def signal_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


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

    runner = ScenarioRunner(log_dir)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, runner.stop)
    failed = []
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(runner.run, name) for name in chosen]
        for future in concurrent.futures.as_completed(futures):
            name, code, seconds, log_path = future.result()
            if code is None:
                continue
            if runner.stopping:
                print("  %-16s stopped (exit %d) after %4.0f s" % (name, code, seconds), flush=True)
                continue
            print("  %-16s %s in %4.0f s" % (name, "passed" if code == 0 else "FAILED (exit %d)" % code, seconds),
                  flush=True)
            if code == 0:
                durations[name] = round(seconds)
            else:
                failed.append(name)
                print("----- %s -----\n%s----- end of %s -----" % (log_path, log_path.read_text(), name), flush=True)
    if runner.stopping:
        runner.destroy_interrupted()
        print("Molecule: stopped after %.0f s" % (time.monotonic() - started), flush=True)
        return 130
    save_durations(durations)
    print("Molecule: %d scenario(s) in %.0f s, %d failed%s" % (
        len(chosen), time.monotonic() - started, len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
