#!/usr/bin/env python3
"""Benchmark the IPVS write path against ipvsadm-restore, ipvsadm -Sn and keepalived, in one lab guest.

The table: SERVICES TCP services x DESTINATIONS real servers (default 1,000 x 10 = 11,000 objects), direct routing,
wlc. In ONE guest of a lab of its own (single-director topology), side by side in every round:

  (a) apply from empty: lvs.cluster.ipvs (timed inside the guest, interpreter start left out), ipvsadm-restore of
      the same table, and keepalived loading the same table (checkers only, no health checks; timed until the
      kernel lists every entry)                                  target: module <= 0.5 x keepalived
  (b) no-change re-apply (dump + diff) against ipvsadm -Sn      target: module <= 1.0 x ipvsadm -Sn
  (c) 10% of the weights changed against the full apply        target: <= 0.1 x full apply
  (d) peak memory (VmHWM) of the module process                target: < 100 MiB

and then the same three module runs end to end as Ansible tasks from this controller (templating, AnsiballZ,
SSH, the module, the result). Prints every round, medians, and each median as a ratio of its target (a ratio
below 1.0 meets it).

Usage: bench/ipvs_apply.py [--rounds N] [--name LAB] [--services N] [--destinations N] [--keep-lab]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from lvs_lab import lab  # noqa: E402

VENV = ROOT / ".venv"
TOPOLOGY = ROOT / "tools/lvs_lab/topologies/single-director.yml"
GUEST_DIR = "/root/ipvs-bench"
HOST = "director1"
MIB = 1024.0


# ---------------------------------------------------------------------------------------------------------------
# The table

def vip(number):
    return "198.19.%d.%d" % (number // 250, number % 250 + 1)


def real_server(number, index, count):
    serial = number * count + index
    return "198.18.%d.%d" % (16 + serial // 250, serial % 250 + 1)


def services(count, dests, changed_weights=False):
    table = []
    for number in range(count):
        table.append({
            "address": vip(number), "port": 80, "scheduler": "wlc",
            "destinations": [{"address": real_server(number, index, dests),
                              "weight": 2 if changed_weights and index == 3 else 1} for index in range(dests)],
        })
    return table


def ipvsadm_rules(count, dests):
    lines = []
    for number in range(count):
        lines.append("-A -t %s:80 -s wlc" % vip(number))
        for index in range(dests):
            lines.append("-a -t %s:80 -r %s:80 -g -w 1" % (vip(number), real_server(number, index, dests)))
    return "\n".join(lines) + "\n"


def keepalived_conf(count, dests):
    parts = ["global_defs {\n    router_id ipvs_bench\n}\n"]
    for number in range(count):
        parts.append("virtual_server %s 80 {\n    lb_algo wlc\n    lb_kind DR\n    protocol TCP\n" % vip(number))
        for index in range(dests):
            parts.append("    real_server %s 80 {\n        weight 1\n    }\n" % real_server(number, index, dests))
        parts.append("}\n")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Lab access

def lab_command(*args, stdin=None, capture=True):
    command = [str(ROOT / "tools/lvs-lab"), *args]
    return subprocess.run(command, input=stdin, check=True, stdout=subprocess.PIPE if capture else None).stdout


def guest(name, command, stdin=None, capture=True):
    return lab_command("ssh", "--name", name, HOST, "--", command, stdin=stdin, capture=capture)


def prepare_guest(name, workdir, count, dests):
    """Copy the module's code (as AnsiballZ would ship it), the inputs and pyroute2 to the guest."""
    stage = workdir / "stage"
    lib = stage / "lib"
    site = Path(next((VENV / "lib").glob("python3*/site-packages")))
    shutil.copytree(site / "ansible/module_utils", lib / "ansible/module_utils",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (lib / "ansible/__init__.py").write_text("")
    for part in ("modules", "module_utils"):
        shutil.copytree(ROOT / "plugins" / part, lib / "ansible_collections/lvs/cluster/plugins" / part,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "bench/ipvs_apply_guest.py", stage / "ipvs_apply_guest.py")
    for name_, table in (("full.json", services(count, dests)), ("weights.json", services(count, dests, True))):
        (stage / name_).write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"services": table}}))
    (stage / "rules.txt").write_text(ipvsadm_rules(count, dests))
    (stage / "keepalived.conf").write_text(keepalived_conf(count, dests))
    (stage / "meta.json").write_text(json.dumps({"services": count, "destinations": dests, "schedulers": ["wlc"]}))
    archive = subprocess.run(["tar", "czf", "-", "-C", str(stage), "."], check=True, stdout=subprocess.PIPE).stdout
    guest(name, "rm -rf %s && mkdir -p %s && tar xzf - -C %s" % (GUEST_DIR, GUEST_DIR, GUEST_DIR), stdin=archive)
    wheel = next((VENV / "wheels").glob("pyroute2-*.whl"))
    guest(name, "cat > /root/%s && pip install --quiet --no-index --break-system-packages /root/%s"
          % (wheel.name, wheel.name), stdin=wheel.read_bytes())


# ---------------------------------------------------------------------------------------------------------------
# End to end, as Ansible tasks

PLAYBOOK = """\
- name: lvs.cluster.ipvs end to end
  hosts: HOST
  gather_facts: false
  become: true
  tasks:
    - name: Start from an empty table
      ansible.builtin.command: ipvsadm -C
      changed_when: true
    - name: Note the time
      ansible.builtin.set_fact:
        t0: "{{ now().timestamp() }}"
    - name: Apply the whole table from empty
      lvs.cluster.ipvs:
        services: "{{ bench_full }}"
    - name: Note the time
      ansible.builtin.set_fact:
        t1: "{{ now().timestamp() }}"
    - name: Apply it again (no change)
      lvs.cluster.ipvs:
        services: "{{ bench_full }}"
      register: again
    - name: Note the time
      ansible.builtin.set_fact:
        t2: "{{ now().timestamp() }}"
    - name: Change 10% of the weights
      lvs.cluster.ipvs:
        services: "{{ bench_weights }}"
    - name: Note the time
      ansible.builtin.set_fact:
        t3: "{{ now().timestamp() }}"
    - name: Clear the table
      ansible.builtin.command: ipvsadm -C
      changed_when: true
    - name: Report
      ansible.builtin.debug:
        msg: "BENCH {{ {'full': t1 | float - t0 | float, 'nochange': t2 | float - t1 | float,
                        'weights': t3 | float - t2 | float, 'again_changed': again.changed} | to_json }}"
"""


def ansible_rounds(name, workdir, count, dests, rounds):
    tree = workdir / "collections/ansible_collections/lvs"
    tree.mkdir(parents=True)
    os.symlink(ROOT, tree / "cluster")
    (workdir / "bench.yml").write_text(PLAYBOOK.replace("HOST", HOST))
    (workdir / "vars.json").write_text(json.dumps({"bench_full": services(count, dests),
                                                   "bench_weights": services(count, dests, True)}))
    inventory = lab_command("inventory", "--name", name).decode().strip()
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(workdir / "collections"),
               PATH="%s:%s" % (VENV / "bin", os.environ["PATH"]), ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    results = []
    for _number in range(rounds):
        started = time.perf_counter()
        out = subprocess.run([str(VENV / "bin/ansible-playbook"), "-i", inventory, "-e", "@%s" % (workdir / "vars.json"),
                              str(workdir / "bench.yml")], env=env, check=True, stdout=subprocess.PIPE).stdout.decode()
        wall = time.perf_counter() - started
        match = re.search(r"BENCH (\{[^}]*\})", out)
        if not match:
            raise SystemExit("no BENCH line in the playbook output:\n" + out)
        result = json.loads(match.group(1).replace('\\"', '"'))
        result["playbook_s"] = wall
        results.append(result)
        print("  ansible round %d: apply %.2f s, no-change %.2f s, 10%% weights %.2f s (whole playbook %.1f s)"
              % (len(results), result["full"], result["nochange"], result["weights"], wall), flush=True)
    return results


# ---------------------------------------------------------------------------------------------------------------

def module_total(run):
    return run["import_s"] + run["main_s"]


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="ipvsbench")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--destinations", type=int, default=10)
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running afterwards")
    options = parser.parse_args()
    count, dests = options.services, options.destinations

    started_lab = False
    if not lab.in_use(options.name):
        print("starting lab %s (%s) ..." % (options.name, TOPOLOGY.name), flush=True)
        lab.up(options.name, str(TOPOLOGY), log=lambda *_: None)
        started_lab = True
    workdir = Path(tempfile.mkdtemp(prefix="ipvs-bench-"))
    try:
        prepare_guest(options.name, workdir, count, dests)
        kernel = guest(options.name, "uname -r; nproc; keepalived --version 2>&1 | head -1; ipvsadm --version")
        print("guest: " + " | ".join(kernel.decode().split("\n")[:4]))
        print("table: %d TCP services x %d real servers = %d objects; %d rounds" % (
            count, dests, count * (1 + dests), options.rounds), flush=True)
        out = guest(options.name, "python3 %s/ipvs_apply_guest.py rounds %s %d" % (GUEST_DIR, GUEST_DIR, options.rounds))
        rounds = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
        for line in rounds:
            full, nochange, weights = line["module_full"], line["module_nochange"], line["module_weights"]
            assert line["restore_lines"] == line["keepalived_lines"] == line["table_lines"] == line["expected_lines"], line
            assert full["changed"] and not nochange["changed"] and weights["changed"], line
            assert weights["summary"]["destinations_modified"] == count, weights
            print("round %d: (a) module %.3f s (import %.3f + main %.3f; core %.3f), ipvsadm-restore %.3f s, "
                  "keepalived %.3f s | (b) module %.3f s (main %.3f), ipvsadm -Sn %.3f s | (c) module %.3f s "
                  "(main %.3f) | VmHWM %.1f/%.1f/%.1f MiB" % (
                      line["round"], module_total(full), full["import_s"], full["main_s"], full["core_s"],
                      line["restore_s"], line["keepalived_s"], module_total(nochange), nochange["main_s"],
                      line["save_s"], module_total(weights), weights["main_s"], full["vmhwm_kib"] / MIB,
                      nochange["vmhwm_kib"] / MIB, weights["vmhwm_kib"] / MIB), flush=True)
        print("end to end as Ansible tasks (controller -> SSH -> guest):", flush=True)
        e2e = ansible_rounds(options.name, workdir, count, dests, options.rounds)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if started_lab and not options.keep_lab:
            lab.down(options.name, log=lambda *_: None)

    def med(key, part=None):
        """The median over the rounds of a figure, or of a module run's import + main() (or one ``part``)."""
        values = []
        for line in rounds:
            value = line[key]
            if isinstance(value, dict):
                value = module_total(value) if part is None else value[part]
            values.append(value)
        return median(values)

    a_module, a_import, a_main, a_core = (med("module_full", part) for part in (None, "import_s", "main_s", "core_s"))
    restore, keepalived = med("restore_s"), med("keepalived_s")
    b_module, b_main, b_core = (med("module_nochange", part) for part in (None, "main_s", "core_s"))
    save = med("save_s")
    c_module, c_main, c_core = (med("module_weights", part) for part in (None, "main_s", "core_s"))
    hwm = max(max(line[key]["vmhwm_kib"] for key in ("module_full", "module_nochange", "module_weights"))
              for line in rounds) / MIB
    e2e_full, e2e_nochange, e2e_weights = (median([r[key] for r in e2e]) for key in ("full", "nochange", "weights"))

    print()
    print("medians over %d rounds (module = import + main() in the guest, interpreter start excluded):" % len(rounds))
    print("(a) apply from empty: module %.3f s (import %.3f s, main %.3f s, of which validate+dump+diff+write %.3f s);"
          " ipvsadm-restore %.3f s; keepalived %.3f s" % (a_module, a_import, a_main, a_core, restore, keepalived))
    print("    module / keepalived = %.2f (main only %.2f); target <= 0.5 -> ratio to target %.2f"
          % (a_module / keepalived, a_main / keepalived, a_module / keepalived / 0.5))
    print("    module / ipvsadm-restore = %.2f" % (a_module / restore))
    print("(b) no change: module %.3f s (main %.3f s, of which dump+diff %.3f s); ipvsadm -Sn %.3f s"
          % (b_module, b_main, b_core, save))
    print("    module / ipvsadm -Sn = %.2f (main only %.2f, dump+diff only %.2f); target <= 1.0 -> ratio to target %.2f"
          % (b_module / save, b_main / save, b_core / save, b_module / save))
    print("(c) 10%% of weights: module %.3f s (main %.3f s, core %.3f s)" % (c_module, c_main, c_core))
    print("    / full apply = %.2f (main only %.2f, core only %.2f); target <= 0.1 -> ratio to target %.2f"
          % (c_module / a_module, c_main / a_main, c_core / a_core, c_module / a_module / 0.1))
    print("(d) peak memory of the module process: %.1f MiB; target < 100 MiB -> ratio to target %.2f" % (hwm, hwm / 100))
    print("end to end as Ansible tasks: apply %.2f s, no change %.2f s, 10%% weights %.2f s"
          % (e2e_full, e2e_nochange, e2e_weights))
    met = {
        "a": a_module <= 0.5 * keepalived,
        "b": b_module <= save,
        "c": c_module <= 0.1 * a_module,
        "d": hwm < 100,
    }
    print("targets: " + ", ".join("(%s) %s" % (key, "met" if value else "MISSED") for key, value in met.items()))
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
