#!/usr/bin/python3
"""The guest side of bench/ipvs_apply.py: runs inside one lab guest, as root, with the venv python of the
director role (/opt/lvs-cluster/venv), which has pyroute2.

    ipvs_apply_guest.py rounds DIR N   run N rounds of every measurement; one JSON line per round
    ipvs_apply_guest.py module DIR LIB ARGS.json OUT.json
                                       one run of lvs.cluster.ipvs in this process (used by 'rounds')

DIR holds what the host copied: lib/ (ansible/module_utils and ansible_collections/lvs/cluster/plugins, the
files AnsiballZ would ship), optionally lib-before/ (the same from an earlier commit, to compare), full.json and
weights.json (module arguments), full-src.json and weights-src.json (module arguments naming the table files
table-full.json and table-weights.json: the src option), rules.txt (ipvsadm-restore input), keepalived.conf.

Each module run is a process of its own. ``process_s`` is that whole process as its parent sees it (interpreter
start, imports, the run, exit): the figure comparable to the ipvsadm and keepalived processes. Inside it:
``import_s`` covers importing AnsibleModule, the module and pyroute2 (as AnsiballZ's loader does); ``main_s``
the module's main() from argument parsing to the JSON result on stdout, split into ``phases``: ``args``
(AnsibleModule(): reading, copying and checking the arguments, logging the invocation; with the src option,
also reading the table's JSON file), ``validate`` (the
collection's validation of the table), ``probe`` (which IPVS modules the kernel offers), ``open`` (netlink
socket and family lookup), ``dump`` (reading the table), ``diff`` (the plan), ``write`` (sending the changes),
``result`` (exit_json: building and printing the result) and ``other`` (the rest of main()).
``work_s`` = dump + diff + write: the netlink and planning work itself. ``vmhwm_kib`` is the peak resident memory.
"""

import json
import os
import signal
import subprocess
import sys
import time

PHASES = ("args", "validate", "probe", "open", "dump", "diff", "write", "result")


def _timed(phases, name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - started
    return wrapper


def module_run(directory, lib, args_path, out_path):
    started = time.perf_counter()
    sys.path.insert(0, os.path.join(directory, lib))
    from ansible.module_utils import basic

    with open(args_path, "rb") as handle:
        basic._ANSIBLE_ARGS = handle.read()
    basic._ANSIBLE_PROFILE = "legacy"
    from ansible_collections.lvs.cluster.plugins.modules import ipvs
    from ansible_collections.lvs.cluster.plugins.module_utils import _common, _ipvs_netlink

    imported = time.perf_counter()
    phases = {}
    # Measuring hooks: the names main() and the reconciler look up at run time, wrapped with a timer.
    original_module = basic.AnsibleModule

    def make_module(*args, **kwargs):
        module = _timed(phases, "args", original_module)(*args, **kwargs)
        module.exit_json = _timed(phases, "result", module.exit_json)
        module.fail_json = _timed(phases, "result", module.fail_json)
        return module

    ipvs.AnsibleModule = make_module
    ipvs.parse_services = _timed(phases, "validate", ipvs.parse_services)
    if hasattr(ipvs, "read_src"):
        ipvs.read_src = _timed(phases, "args", ipvs.read_src)
    _common.probe_kernel_modules = _timed(phases, "probe", _common.probe_kernel_modules)
    _common.plan_changes = _timed(phases, "diff", _common.plan_changes)
    client = _ipvs_netlink.IPVSNetlink
    client.open = _timed(phases, "open", client.open)
    client.dump_table = _timed(phases, "dump", client.dump_table)
    client.apply = _timed(phases, "write", client.apply)
    stdout = sys.stdout
    sys.stdout = open(out_path, "w")
    try:
        ipvs.main()
    except SystemExit:
        pass
    finally:
        sys.stdout.close()
        sys.stdout = stdout
    finished = time.perf_counter()
    with open("/proc/self/status") as handle:
        hwm = [int(line.split()[1]) for line in handle if line.startswith("VmHWM:")][0]
    with open(out_path) as handle:
        result = json.load(handle)
    main_s = finished - imported
    phases = dict((name, phases.get(name, 0.0)) for name in PHASES)
    phases["other"] = main_s - sum(phases.values())
    print(json.dumps({"import_s": imported - started, "main_s": main_s, "phases": phases,
                      "work_s": phases["dump"] + phases["diff"] + phases["write"],
                      "vmhwm_kib": hwm, "changed": result.get("changed"), "failed": result.get("failed", False),
                      "msg": result.get("msg"), "summary": result.get("summary"),
                      "lines": len(result.get("changes") or []), "imported": imported_modules()}))


def imported_modules():
    """How many modules the run imported, by origin: Ansible's module_utils, the collection, pyroute2, the rest."""
    counts = {"ansible": 0, "collection": 0, "pyroute2": 0, "other": 0}
    for name in list(sys.modules):
        if name.startswith("ansible_collections"):
            counts["collection"] += 1
        elif name.startswith("ansible"):
            counts["ansible"] += 1
        elif name.startswith("pyroute2"):
            counts["pyroute2"] += 1
        else:
            counts["other"] += 1
    return counts


def run(command, **kwargs):
    return subprocess.run(command, check=True, **kwargs)


def proc_lines():
    with open("/proc/net/ip_vs") as handle:
        return sum(1 for _line in handle)


def timed(command, stdin=None):
    started = time.perf_counter()
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
        run(command, stdin=source, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def module(directory, args_name, lib="lib"):
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "module", directory, lib, os.path.join(directory, args_name),
                          os.path.join(directory, "result.json")], check=True, stdout=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    result = json.loads(out.stdout.decode())
    if result["failed"]:
        raise SystemExit("the module failed: %s" % result["msg"])
    result["process_s"] = elapsed
    return result


def keepalived(directory, expected_lines):
    """Start keepalived (checkers only, in the foreground of a child process) and time until the kernel's table
    has every entry (/proc/net/ip_vs: the lines 'ipvsadm -Ln' prints), then stop it."""
    run(["ipvsadm", "-C"])
    started = time.perf_counter()
    process = subprocess.Popen(["keepalived", "--dont-fork", "--log-console", "--check", "--use-file",
                                os.path.join(directory, "keepalived.conf"), "--pid", "/run/bench-keepalived.pid",
                                "--checkers_pid", "/run/bench-keepalived-checkers.pid"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc_lines() < expected_lines:
            if process.poll() is not None:
                raise SystemExit("keepalived exited with %s" % process.returncode)
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        listed = int(subprocess.run("ipvsadm -Ln | wc -l", shell=True, check=True,
                                    stdout=subprocess.PIPE).stdout.decode())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    run(["ipvsadm", "-C"])
    return elapsed, listed


def module_cases(directory, lib, line, suffix="", full="full.json", weights="weights.json"):
    """(a) from empty, (b) no change, (c) 10% of the weights, with the module from ``lib`` and the arguments in
    ``full`` and ``weights``."""
    run(["ipvsadm", "-C"])
    line["module_full" + suffix] = module(directory, full, lib)
    line["module_nochange" + suffix] = module(directory, full, lib)
    line["module_weights" + suffix] = module(directory, weights, lib)
    line["table_lines" + suffix] = proc_lines()
    run(["ipvsadm", "-C"])


def rounds(directory, count):
    with open(os.path.join(directory, "meta.json")) as handle:
        meta = json.load(handle)
    expected = meta["services"] + meta["services"] * meta["destinations"] + 3  # ipvsadm -Ln: 3 header lines
    compare = os.path.isdir(os.path.join(directory, "lib-before"))
    run(["modprobe", "ip_vs"])
    for name in meta["schedulers"]:
        run(["modprobe", "ip_vs_%s" % name])
    for number in range(1, count + 1):
        line = {"round": number, "expected_lines": expected}
        # interpreter start alone, as the module's process pays it
        line["python_s"] = timed([sys.executable, "-c", "pass"])
        # the module: (a), (b), (c); and the earlier commit's module in the same round, when asked
        module_cases(directory, "lib", line)
        # the same with the table in a JSON file on the guest (the module's src option), as ipvsadm-restore and
        # keepalived read theirs
        module_cases(directory, "lib", line, "_src", "full-src.json", "weights-src.json")
        if compare:
            module_cases(directory, "lib-before", line, "_before")
        # (a) ipvsadm-restore and keepalived from empty
        run(["ipvsadm", "-C"])
        line["restore_s"] = timed(["ipvsadm-restore"], os.path.join(directory, "rules.txt"))
        line["restore_lines"] = proc_lines()
        # (b) ipvsadm -Sn on the same full table
        line["save_s"] = timed(["ipvsadm", "-Sn"])
        line["keepalived_s"], line["keepalived_lines"] = keepalived(directory, expected)
        print(json.dumps(line), flush=True)


def main():
    if sys.argv[1] == "module":
        module_run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "rounds":
        rounds(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
