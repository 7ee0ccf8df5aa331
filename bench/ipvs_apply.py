#!/usr/bin/env python3
"""Benchmark the IPVS write path against ipvsadm-restore, ipvsadm -Sn and keepalived, in one lab guest.

The table: SERVICES TCP services x DESTINATIONS real servers (default 1,000 x 10 = 11,000 objects), direct routing,
wlc. In ONE guest of a lab of its own (single-director topology), side by side in every round:

  (a) apply from empty: lvs.cluster.ipvs, ipvsadm-restore of the same table, and keepalived loading the same table
      (checkers only, no health checks; timed until the kernel lists every entry)
                                                                target: module <= 0.5 x keepalived
  (b) no-change re-apply (dump + diff) against ipvsadm -Sn      target: module <= 1.0 x ipvsadm -Sn
  (c) 10% of the weights changed against (b)                   target: module <= 1.2 x the no-change re-apply
  (d) peak memory (VmHWM) of the module process                target: < 100 MiB

Each module case runs twice: with the table as the module's `services` argument (as a playbook passes inventory
data), and with `src` naming a JSON file of the table already on the guest, as ipvsadm-restore and keepalived
read theirs. Both are printed; the targets are judged on the `src` runs, the bulk path (Ansible copies and checks
a module's arguments twice before the module runs, which costs the inline runs about half a second here).
Each module run is its own python3 process, as under Ansible. The targets are judged on the WHOLE process
(interpreter start, imports, argument handling, the work, the result), because ipvsadm and keepalived are timed
as whole processes too. The report also gives, for every case, the phases inside the process (interpreter
start, imports, AnsibleModule argument handling, validation, kernel probe, socket, dump, diff, write, result)
and the ratios of "module" (imports + main(), interpreter start left out) and of "work" (dump + diff + write)
alone, so that fixed costs are neither hidden nor mistaken for the work. With --compare COMMIT the module of that
commit runs in the same rounds too, for before/after figures. Then the same three module runs end to end as
Ansible tasks from this controller (templating, AnsiballZ, SSH, the module, the result), in one playbook: `ping`
(Ansible's fixed cost of a task), then (a), (b), (c) with `src`, then with the table inline; with --compare, the
same playbook with that commit's collection after each run. The report splits each task's time into the module
process in the guest and what Ansible costs around it. With Ansible rounds (the default), the exit status judges
issue 15's end-to-end targets on the src path: apply from empty <= 0.5 x keepalived's load time; no change <=
ping + `ipvsadm -Sn`; 10% of the weights <= the no-change task + 20%; peak memory < 100 MiB. With
--ansible-rounds 0 it judges the in-guest figures of the src runs. Every figure is a median over the rounds; the
exit status is 1 when any judged target is missed.

Usage: bench/ipvs_apply.py [--rounds N] [--name LAB] [--services N] [--destinations N] [--compare COMMIT]
                           [--ansible-rounds N] [--keep-lab]
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
# The director role's virtual environment (lvs_director_python_venv) and its python (lvs_director_ipvs_python).
GUEST_VENV = "/opt/lvs-cluster/venv"
GUEST_PYTHON = GUEST_VENV + "/bin/python3"
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


def stage_plugins(lib, ref=None):
    """The collection's modules and module_utils under ``lib`` as AnsiballZ ships them: from the working tree, or
    from the git commit ``ref``."""
    target = lib / "ansible_collections/lvs/cluster"
    if ref is None:
        for part in ("modules", "module_utils"):
            shutil.copytree(ROOT / "plugins" / part, target / "plugins" / part,
                            ignore=shutil.ignore_patterns("__pycache__"))
        return
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "plugins/modules", "plugins/module_utils"],
                             check=True, stdout=subprocess.PIPE).stdout
    subprocess.run(["tar", "xf", "-", "-C", str(target)], input=archive, check=True)


def prepare_guest(name, workdir, count, dests, compare=None):
    """Copy the module's code (as AnsiballZ would ship it; with ``compare``, that commit's too), the inputs and
    pyroute2 to the guest."""
    stage = workdir / "stage"
    site = Path(next((VENV / "lib").glob("python3*/site-packages")))
    for lib_name, ref in (("lib", None), ("lib-before", compare)):
        if lib_name == "lib-before" and compare is None:
            continue
        lib = stage / lib_name
        shutil.copytree(site / "ansible/module_utils", lib / "ansible/module_utils",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (lib / "ansible/__init__.py").write_text("")
        stage_plugins(lib, ref)
    shutil.copy(ROOT / "bench/ipvs_apply_guest.py", stage / "ipvs_apply_guest.py")
    for kind, table in (("full", services(count, dests)), ("weights", services(count, dests, True))):
        (stage / ("%s.json" % kind)).write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"services": table}}))
        (stage / ("table-%s.json" % kind)).write_text(json.dumps(table))
        (stage / ("%s-src.json" % kind)).write_text(json.dumps(
            {"ANSIBLE_MODULE_ARGS": {"src": "%s/table-%s.json" % (GUEST_DIR, kind)}}))
    (stage / "rules.txt").write_text(ipvsadm_rules(count, dests))
    (stage / "keepalived.conf").write_text(keepalived_conf(count, dests))
    (stage / "meta.json").write_text(json.dumps({"services": count, "destinations": dests, "schedulers": ["wlc"]}))
    archive = subprocess.run(["tar", "czf", "-", "-C", str(stage), "."], check=True, stdout=subprocess.PIPE).stdout
    guest(name, "rm -rf %s && mkdir -p %s && tar xzf - -C %s" % (GUEST_DIR, GUEST_DIR, GUEST_DIR), stdin=archive)
    # pyroute2 as the director role installs it: into its virtual environment, never the system Python's packages.
    wheel = next((VENV / "wheels").glob("pyroute2-*.whl"))
    guest(name, "cat > /root/{wheel} && {{ [ -x {venv}/bin/pip ] || python3 -m venv {venv}; }}"
                " && {venv}/bin/pip install --quiet --disable-pip-version-check --no-index --no-deps /root/{wheel}"
          .format(wheel=wheel.name, venv=GUEST_VENV), stdin=wheel.read_bytes())


# ---------------------------------------------------------------------------------------------------------------
# End to end, as Ansible tasks

# Each module task is timed from the end of the task before it to its own end (``now()`` in a set_fact task, a
# few milliseconds): what a user waits for in a playbook. ``ping`` is Ansible's fixed cost for one task on this
# host (templating, AnsiballZ, SSH with the persistent connection, the python start, the result).
E2E_STEPS = (
    ("ping", "ansible.builtin.ping:"),
    ("src_full", "lvs.cluster.ipvs: {src: GUEST_DIR/table-full.json, exclusive: true}"),
    ("src_nochange", "lvs.cluster.ipvs: {src: GUEST_DIR/table-full.json, exclusive: true}"),
    ("src_weights", "lvs.cluster.ipvs: {src: GUEST_DIR/table-weights.json, exclusive: true}"),
    ("clear", "ansible.builtin.command: ipvsadm -C"),
    ("inline_full", "lvs.cluster.ipvs: {services: \"{{ bench_full }}\", exclusive: true}"),
    ("inline_nochange", "lvs.cluster.ipvs: {services: \"{{ bench_full }}\", exclusive: true}"),
    ("inline_weights", "lvs.cluster.ipvs: {services: \"{{ bench_weights }}\", exclusive: true}"),
)
E2E_CASES = (("a", "full", "apply from empty"), ("b", "nochange", "no change"), ("c", "weights", "10% of the weights"))


def playbook():
    lines = ["- name: lvs.cluster.ipvs end to end", "  hosts: %s" % HOST, "  gather_facts: false", "  become: true",
             "  vars:", "    ansible_python_interpreter: %s" % GUEST_PYTHON, "  tasks:",
             "    - name: Start from an empty table", "      ansible.builtin.command: ipvsadm -C",
             "    - name: Note the time", "      ansible.builtin.set_fact:", "        bench_t_start: \"{{ now().timestamp() }}\""]
    previous = "bench_t_start"
    for name, task in E2E_STEPS:
        lines += ["    - name: %s" % name, "      %s" % task.replace("GUEST_DIR", GUEST_DIR),
                  "      register: bench_r_%s" % name,
                  "    - name: Note the time", "      ansible.builtin.set_fact:",
                  "        bench_t_%s: \"{{ now().timestamp() }}\"" % name]
        lines.append("        bench_d_%s: \"{{ now().timestamp() - %s | float }}\"" % (name, previous))
        previous = "bench_t_%s" % name
    report = ", ".join("'%s': bench_d_%s | float" % (name, name) for name, _task in E2E_STEPS if name != "clear")
    report += ", 'changed': [%s]" % ", ".join("bench_r_%s.changed" % name for name, _t in E2E_STEPS if name != "ping")
    report += ", 'lines': [%s]" % ", ".join("bench_r_%s.changes | length" % name for name, _t in E2E_STEPS
                                            if name.endswith("full"))
    lines += ["    - name: Clear the table", "      ansible.builtin.command: ipvsadm -C",
              "    - name: Report", "      ansible.builtin.debug:", "        msg: \"BENCH {{ {%s} | to_json }}\"" % report]
    return "\n".join(lines) + "\n"


def stage_collection(workdir, label, ref):
    """A collections path holding lvs.cluster: this tree (a symlink) or the git commit ``ref``."""
    tree = workdir / ("collections-" + label) / "ansible_collections/lvs"
    tree.mkdir(parents=True)
    if ref is None:
        os.symlink(ROOT, tree / "cluster")
    else:
        (tree / "cluster").mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "plugins", "meta", "galaxy.yml"],
                                 check=True, stdout=subprocess.PIPE).stdout
        subprocess.run(["tar", "xf", "-", "-C", str(tree / "cluster")], input=archive, check=True)
    return tree.parent.parent


def ansible_rounds(name, workdir, count, dests, rounds, compare=None):
    """``rounds`` runs of the playbook (with ``compare``, each followed by the same with that commit's
    collection); returns {label: [per-round dicts of the E2E_STEPS durations]}."""
    (workdir / "bench.yml").write_text(playbook())
    (workdir / "vars.json").write_text(json.dumps({"bench_full": services(count, dests),
                                                   "bench_weights": services(count, dests, True)}))
    inventory = lab_command("inventory", "--name", name).decode().strip()
    versions = [("after", None)] + ([("before", compare)] if compare else [])
    paths = dict((label, stage_collection(workdir, label, ref)) for label, ref in versions)
    results = dict((label, []) for label, _ref in versions)
    for number in range(1, rounds + 1):
        for label, _ref in versions:
            env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(paths[label]),
                       PATH="%s:%s" % (VENV / "bin", os.environ["PATH"]), ANSIBLE_CALLBACK_RESULT_FORMAT="json",
                       PYTHONWARNINGS="ignore")
            started = time.perf_counter()
            out = subprocess.run([str(VENV / "bin/ansible-playbook"), "-i", inventory, "-e",
                                  "@%s" % (workdir / "vars.json"), str(workdir / "bench.yml")],
                                 env=env, check=True, stdout=subprocess.PIPE).stdout.decode()
            wall = time.perf_counter() - started
            match = re.search(r"BENCH (\{.*?\})\"?\s*$", out, re.MULTILINE)
            if not match:
                raise SystemExit("no BENCH line in the playbook output:\n" + out)
            result = json.loads(match.group(1).replace('\\"', '"'))
            if result["changed"] != [True, False, True, True, True, False, True]:
                raise SystemExit("unexpected changed flags %s (ping excluded, in the order of E2E_STEPS)"
                                 % result["changed"])
            result["playbook_s"] = wall
            results[label].append(result)
            print("  ansible round %d (%s): ping %.2f s | src: apply %.2f s, no change %.2f s, 10%% weights %.2f s | "
                  "inline: apply %.2f s, no change %.2f s, 10%% weights %.2f s | lines of changes returned by the "
                  "applies: %s (whole playbook %.1f s)" % (
                      number, label, result["ping"], result["src_full"], result["src_nochange"],
                      result["src_weights"], result["inline_full"], result["inline_nochange"],
                      result["inline_weights"], result["lines"], wall), flush=True)
    return results


# ---------------------------------------------------------------------------------------------------------------

PHASES = ("args", "validate", "probe", "open", "dump", "diff", "write", "result", "other")
CASES = (("a", "module_full", "apply from empty"), ("b", "module_nochange", "no-change re-apply"),
         ("c", "module_weights", "10% of the weights changed"))


def module_total(run):
    """import + main() of one module run: the module's own time, interpreter start left out."""
    return run["import_s"] + run["main_s"]


def median(values):
    return statistics.median(values)


def figures(rounds, key):
    """The medians of one kind of module run (``key`` like ``module_full`` or ``module_full_before``)."""
    runs = [line[key] for line in rounds]
    result = {
        "process": median([run["process_s"] for run in runs]),
        "module": median([module_total(run) for run in runs]),
        "import": median([run["import_s"] for run in runs]),
        "main": median([run["main_s"] for run in runs]),
        "work": median([run["work_s"] for run in runs]),
        "hwm": max(run["vmhwm_kib"] for run in runs) / MIB,
    }
    for phase in PHASES:
        result[phase] = median([run["phases"][phase] for run in runs])
    return result


def print_phase_table(title, table, python_s):
    print(title)
    header = ["case", "process", "=start*", "+import", "+main", "args", "validate", "probe", "open", "dump",
              "diff", "write", "result", "other"]
    print("  " + "".join("%-9s" % cell for cell in header))
    for letter, figure in table:
        cells = [letter, figure["process"], python_s, figure["import"], figure["main"]]
        cells += [figure[phase] for phase in PHASES]
        print("  " + "".join("%-9s" % (cell if isinstance(cell, str) else "%.3f" % cell) for cell in cells))
    print("  (seconds, medians; *start = 'python3 -c pass', measured on its own; process = what the parent sees)")


def print_ratios(label, fig, keepalived, restore, save):
    """Print the ratios of one kind of module run against the tools; returns {target: met}."""
    a, b, c = fig["a"], fig["b"], fig["c"]
    hwm = max(fig[letter]["hwm"] for letter in "abc")
    print("%s:" % label)
    print("  (a) apply from empty / keepalived: process %.2f, module %.2f, work %.2f   target <= 0.5"
          % (a["process"] / keepalived, a["module"] / keepalived, a["work"] / keepalived))
    print("      apply from empty / ipvsadm-restore: process %.2f, module %.2f, work %.2f"
          % (a["process"] / restore, a["module"] / restore, a["work"] / restore))
    print("  (b) no-change re-apply / ipvsadm -Sn: process %.2f, module %.2f, dump+diff %.2f   target <= 1.0"
          % (b["process"] / save, b["module"] / save, (b["dump"] + b["diff"]) / save))
    print("  (c) 10%% of the weights / the no-change re-apply (each a module run): process %.2f, module %.2f   "
          "target <= 1.2" % (c["process"] / b["process"], c["module"] / b["module"]))
    print("  (d) peak memory (VmHWM) of the module process, largest of all runs: %.1f MiB   target < 100 MiB" % hwm)
    return {
        "a": a["process"] <= 0.5 * keepalived,
        "b": b["process"] <= save,
        "c": c["process"] <= 1.2 * b["process"],
        "d": hwm < 100,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--name", default="ipvsbench")
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--destinations", type=int, default=10)
    parser.add_argument("--compare", metavar="COMMIT",
                        help="also run the module of this git commit in every round (before/after figures)")
    parser.add_argument("--ansible-rounds", type=int, default=None,
                        help="rounds of the end-to-end Ansible playbook (default: --rounds; 0 skips it)")
    parser.add_argument("--keep-lab", action="store_true", help="leave the lab running afterwards")
    options = parser.parse_args()
    count, dests = options.services, options.destinations
    ansible_count = options.rounds if options.ansible_rounds is None else options.ansible_rounds

    started_lab = False
    if not lab.in_use(options.name):
        print("starting lab %s (%s) ..." % (options.name, TOPOLOGY.name), flush=True)
        lab.up(options.name, str(TOPOLOGY), log=lambda *_: None)
        started_lab = True
    workdir = Path(tempfile.mkdtemp(prefix="ipvs-bench-"))
    versions = [("", "this tree, services inline"), ("_src", "this tree, src file")]
    if options.compare:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", options.compare], check=True,
                                stdout=subprocess.PIPE).stdout.decode().strip()
        versions.append(("_before", "commit %s" % commit))
    try:
        prepare_guest(options.name, workdir, count, dests, options.compare)
        kernel = guest(options.name, "uname -r; nproc; keepalived --version 2>&1 | head -1; ipvsadm --version")
        print("guest: " + " | ".join(kernel.decode().split("\n")[:4]))
        print("table: %d TCP services x %d real servers = %d objects; %d rounds" % (
            count, dests, count * (1 + dests), options.rounds), flush=True)
        out = guest(options.name, "%s %s/ipvs_apply_guest.py rounds %s %d"
                    % (GUEST_PYTHON, GUEST_DIR, GUEST_DIR, options.rounds))
        rounds = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
        for line in rounds:
            assert line["restore_lines"] == line["keepalived_lines"] == line["expected_lines"], line
            for suffix, _label in versions:
                full, nochange, weights = (line[key + suffix] for key in ("module_full", "module_nochange",
                                                                           "module_weights"))
                assert line["table_lines" + suffix] == line["expected_lines"], line
                assert full["changed"] and not nochange["changed"] and weights["changed"], line
                assert full["summary"]["destinations_created"] == count * dests, full
                assert weights["summary"]["destinations_modified"] == count, weights
            print("round %d: python3 start %.3f s | module process: (a) %.3f s (b) %.3f s (c) %.3f s%s | "
                  "ipvsadm-restore %.3f s, keepalived %.3f s, ipvsadm -Sn %.3f s" % (
                      line["round"], line["python_s"], line["module_full"]["process_s"],
                      line["module_nochange"]["process_s"], line["module_weights"]["process_s"],
                      "".join(" | %s: (a) %.3f s (b) %.3f s (c) %.3f s" % (
                          label, line["module_full" + suffix]["process_s"],
                          line["module_nochange" + suffix]["process_s"], line["module_weights" + suffix]["process_s"])
                          for suffix, label in versions[1:]),
                      line["restore_s"], line["keepalived_s"], line["save_s"]), flush=True)
        e2e = {}
        if ansible_count:
            print("end to end as Ansible tasks (controller -> SSH -> guest):", flush=True)
            e2e = ansible_rounds(options.name, workdir, count, dests, ansible_count, options.compare)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if started_lab and not options.keep_lab:
            lab.down(options.name, log=lambda *_: None)

    python_s = median([line["python_s"] for line in rounds])
    restore, keepalived, save = (median([line[key] for line in rounds])
                                 for key in ("restore_s", "keepalived_s", "save_s"))
    print()
    print("medians over %d rounds, every figure measured side by side in the same guest and round" % len(rounds))
    print("reference tools (whole processes): ipvsadm-restore %.3f s, keepalived until the table is complete %.3f s, "
          "ipvsadm -Sn %.3f s; python3 interpreter start alone %.3f s" % (restore, keepalived, save, python_s))
    results = {}
    for suffix, label in versions:
        fig = dict((letter, figures(rounds, key + suffix)) for letter, key, _title in CASES)
        results[suffix] = fig
        print()
        print_phase_table("module phases (%s):" % label, [(letter, fig[letter]) for letter, _k, _t in CASES],
                          python_s)
    imported = rounds[-1]["module_full_src"].get("imported")
    if imported:
        print("  modules a run imports (this tree): %s" % ", ".join("%s %s" % (n, k) for k, n in imported.items()))
    print()
    print("ratios in the guest. 'process' = the whole module process (interpreter start, imports, argument handling,")
    print("work, result), as the tools it is compared with are whole processes too. 'module' = imports + main()")
    print("(interpreter start left out). 'work' = dump + diff + write only.")
    met = {}
    for suffix, label in versions:
        if suffix != "_before":
            met[suffix] = print_ratios(label, results[suffix], keepalived, restore, save)
    fig = results[""]
    hwm = max(max(results[suffix][letter]["hwm"] for letter in "abc") for suffix in ("", "_src"))
    if "_before" in results:
        before = results["_before"]
        print()
        print("before -> after in the guest (%s -> this tree, services inline), medians of the same rounds:"
              % dict(versions)["_before"])
        for letter, _key, title in CASES:
            print("  (%s) %-28s process %.3f -> %.3f s, module %.3f -> %.3f s (import %.3f -> %.3f, main %.3f -> "
                  "%.3f, result %.3f -> %.3f), work %.3f -> %.3f s" % (
                      letter, title, before[letter]["process"], fig[letter]["process"], before[letter]["module"],
                      fig[letter]["module"], before[letter]["import"], fig[letter]["import"], before[letter]["main"],
                      fig[letter]["main"], before[letter]["result"], fig[letter]["result"], before[letter]["work"],
                      fig[letter]["work"]))
        print("  (d) peak memory %.1f -> %.1f MiB" % (max(before[x]["hwm"] for x in "abc"), hwm))
    for suffix, label in versions:
        if suffix in met:
            print("in-guest targets, %s (whole processes): %s" % (label, ", ".join(
                "(%s) %s" % (key, "met" if value else "MISSED") for key, value in met[suffix].items())))
    if not e2e:
        # Without Ansible rounds, the bulk path's in-guest figures are judged.
        return 0 if all(met["_src"].values()) else 1
    return 0 if judge_e2e(e2e, results, keepalived, save, hwm) else 1


def judge_e2e(e2e, results, keepalived, save, hwm):
    """Print the end-to-end figures, where the time goes, before/after, and judge the targets; True when met."""
    after = dict((key, median([r[key] for r in e2e["after"]])) for key in e2e["after"][0] if key not in
                 ("changed", "lines"))
    ping = after["ping"]
    print()
    print("end to end as Ansible tasks (task start to task end; median of %d playbook runs), and where the time goes:"
          % len(e2e["after"]))
    print("  'ping' = Ansible's fixed cost of one task here: %.2f s. 'module process' = the same case's whole module"
          % ping)
    print("  process in the guest (from the rounds above); 'around' = task - module process: templating, AnsiballZ,")
    print("  SSH, sending the arguments, the result back to the controller and its handling there.")
    print("  %-30s %-8s %-16s %-9s %-s" % ("case", "task", "module process", "around", "around - ping"))
    for path, suffix in (("src", "_src"), ("inline", "")):
        for letter, key, title in E2E_CASES:
            task = after["%s_%s" % (path, key)]
            process = results[suffix][letter]["process"]
            print("  %-30s %-8.2f %-16.2f %-9.2f %-.2f" % ("%s, %s" % (path, title), task, process, task - process,
                                                          task - process - ping))
    print("  passing the table inline instead of src costs: apply %+.2f s, no change %+.2f s, weights %+.2f s (the"
          % tuple(after["inline_" + key] - after["src_" + key] for _l, key, _t in E2E_CASES))
    print("  controller templates, serialises and sends 11,000 objects; AnsibleModule reads and checks them)")
    if "before" in e2e:
        before = dict((key, median([r[key] for r in e2e["before"]])) for key in after)
        print("  before -> after (median task times, the same playbook with the earlier commit's collection):")
        for key in after:
            print("    %-16s %.2f -> %.2f s (%+.0f%%)" % (key, before[key], after[key],
                                                         100.0 * (after[key] - before[key]) / before[key]))
        print("    lines of changes returned by the applies (src, inline): %s -> %s"
              % (e2e["before"][0]["lines"], e2e["after"][0]["lines"]))
    full, nochange, weights = after["src_full"], after["src_nochange"], after["src_weights"]
    met = {
        "apply from empty <= 0.5 x keepalived (%.2f s <= %.2f s)" % (full, 0.5 * keepalived): full <= 0.5 * keepalived,
        "no change <= ping + ipvsadm -Sn (%.2f s <= %.2f s)" % (nochange, ping + save): nochange <= ping + save,
        "10%% weights <= no change + 20%% (%.2f s <= %.2f s)" % (weights, 1.2 * nochange): weights <= 1.2 * nochange,
        "peak memory < 100 MiB (%.1f MiB)" % hwm: hwm < 100,
    }
    print("end-to-end targets (the src path, the table in a file on the director, as keepalived and ipvsadm-restore "
          "read theirs):")
    for text, value in met.items():
        print("  %-7s %s" % ("met" if value else "MISSED", text))
    return all(met.values())

if __name__ == "__main__":
    sys.exit(main())
