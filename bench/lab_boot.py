#!/usr/bin/env python3
"""Benchmark the lab itself: boot time and host memory of the default lab, medians over several rounds.

Targets (issue "Foundation"): the default six-guest lab answers SSH on every guest in under 90 s once the
image is cached, and uses under 2.5 GiB of host memory. Prints each round, the medians, and each median as a
ratio of its target (below 1.0 meets it). A cached image "rebuild" is timed too (it must be instant).

Usage: bench/lab_boot.py [--rounds N] [--name NAME] [--topology FILE] [--settle SECONDS]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

from lvs_lab import image, lab, paths, topology  # noqa: E402

BOOT_TARGET_S = 90.0
MEMORY_TARGET_MIB = 2.5 * 1024


def mem_available_mib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def one_round(name, topology_path, settle):
    before = mem_available_mib()
    started = time.monotonic()
    state = lab.up(name, topology_path, log=lambda *_: None)
    boot = time.monotonic() - started
    try:
        time.sleep(settle)  # let boot-time services finish, as a user's first command would
        report = lab.status(name)
        guests = {row["host"]: row["memory_mib"] for row in report["guests"]}
        host_delta = before - mem_available_mib()
    finally:
        stop_started = time.monotonic()
        lab.down(name, log=lambda *_: None)
        stop = time.monotonic() - stop_started
    return {
        "up_s": boot,
        "slowest_guest_s": max(state["ssh_ready_seconds"].values()),
        "guest_pss_mib": sum(guests.values()),
        "host_mem_delta_mib": host_delta,
        "per_guest_mib": guests,
        "down_s": stop,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--topology", default=str(paths.DEFAULT_TOPOLOGY))
    parser.add_argument("--settle", type=float, default=10.0)
    options = parser.parse_args()

    parsed = topology.load(options.topology)
    started = time.monotonic()
    image.build(parsed.suite, log=lambda *_: None)  # builds once if needed; not part of the figures
    cached = time.monotonic()
    image.build(parsed.suite, log=lambda *_: None)
    cached_build_s = time.monotonic() - cached
    print(f"image: {image.image_path(parsed.suite)} (first call {cached - started:.1f} s, cached call {cached_build_s * 1000:.0f} ms)")
    print("configured guest memory: " + ", ".join(f"{h.name} {h.memory} MiB" for h in parsed.hosts)
          + f" = {sum(h.memory for h in parsed.hosts)} MiB")
    print(f"{'round':>5} {'up->all SSH':>12} {'slowest':>8} {'guest PSS':>10} {'host delta':>11} {'down':>6}")
    rounds = []
    for number in range(1, options.rounds + 1):
        result = one_round(options.name, options.topology, options.settle)
        rounds.append(result)
        print(f"{number:>5} {result['up_s']:>10.1f} s {result['slowest_guest_s']:>6.1f} s "
              f"{result['guest_pss_mib']:>7.0f} MiB {result['host_mem_delta_mib']:>7.0f} MiB {result['down_s']:>4.1f} s")
    median = {key: statistics.median(r[key] for r in rounds)
              for key in ("up_s", "slowest_guest_s", "guest_pss_mib", "host_mem_delta_mib", "down_s")}
    per_guest = {host: statistics.median(r["per_guest_mib"][host] for r in rounds) for host in rounds[0]["per_guest_mib"]}
    print("median per guest: " + ", ".join(f"{host} {mib:.0f} MiB" for host, mib in per_guest.items()))
    print(f"median up -> every guest answers SSH: {median['up_s']:.1f} s "
          f"(target {BOOT_TARGET_S:.0f} s, ratio {median['up_s'] / BOOT_TARGET_S:.2f})")
    memory = max(median["guest_pss_mib"], median["host_mem_delta_mib"])
    print(f"median host memory of the lab: {median['guest_pss_mib']:.0f} MiB by guest PSS, "
          f"{median['host_mem_delta_mib']:.0f} MiB by MemAvailable "
          f"(target {MEMORY_TARGET_MIB:.0f} MiB, ratio {memory / MEMORY_TARGET_MIB:.2f})")
    print(f"median down: {median['down_s']:.1f} s; {os.cpu_count()} CPUs")
    met = median["up_s"] < BOOT_TARGET_S and memory < MEMORY_TARGET_MIB
    print("targets met" if met else "TARGETS MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
