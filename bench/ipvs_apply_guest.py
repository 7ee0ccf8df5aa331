#!/usr/bin/python3
"""The guest side of bench/ipvs_apply.py: runs inside one lab guest, as root, with python3 and pyroute2.

    ipvs_apply_guest.py rounds DIR N   run N rounds of every measurement; one JSON line per measurement
    ipvs_apply_guest.py module DIR ARGS.json OUT.json
                                       one run of lvs.cluster.ipvs in this process (used by 'rounds')

DIR holds what the host copied: lib/ (ansible/module_utils and ansible_collections/lvs/cluster/plugins, the
files AnsiballZ would ship), full.json and weights.json (module arguments), rules.txt (ipvsadm-restore input),
keepalived.conf. A module run is timed from inside its own process, so the interpreter's start is left out:
``import_s`` covers importing AnsibleModule, the module and pyroute2; ``main_s`` the module's main() from
argument parsing to the JSON result on stdout; ``core_s`` the part between them (validation, kernel facts, dump,
diff, writes). ``vmhwm_kib`` is the process's peak resident memory.
"""

import json
import os
import signal
import subprocess
import sys
import time


def module_run(directory, args_path, out_path):
    started = time.perf_counter()
    sys.path.insert(0, os.path.join(directory, "lib"))
    from ansible.module_utils import basic

    with open(args_path, "rb") as handle:
        basic._ANSIBLE_ARGS = handle.read()
    basic._ANSIBLE_PROFILE = "legacy"
    from ansible_collections.lvs.cluster.plugins.modules import ipvs

    imported = time.perf_counter()
    core = {}
    original = ipvs.run

    def timed_run(module, reconciler):
        begin = time.perf_counter()
        try:
            return original(module, reconciler)
        finally:
            core["s"] = time.perf_counter() - begin

    ipvs.run = timed_run
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
    print(json.dumps({"import_s": imported - started, "main_s": finished - imported, "core_s": core.get("s"),
                      "vmhwm_kib": hwm, "changed": result.get("changed"), "failed": result.get("failed", False),
                      "msg": result.get("msg"), "summary": result.get("summary")}))


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


def module(directory, args_name):
    out = subprocess.run([sys.executable, __file__, "module", directory, os.path.join(directory, args_name),
                          os.path.join(directory, "result.json")], check=True, stdout=subprocess.PIPE)
    result = json.loads(out.stdout.decode())
    if result["failed"]:
        raise SystemExit("the module failed: %s" % result["msg"])
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


def rounds(directory, count):
    with open(os.path.join(directory, "meta.json")) as handle:
        meta = json.load(handle)
    expected = meta["services"] + meta["services"] * meta["destinations"] + 3  # ipvsadm -Ln: 3 header lines
    run(["modprobe", "ip_vs"])
    for name in meta["schedulers"]:
        run(["modprobe", "ip_vs_%s" % name])
    for number in range(1, count + 1):
        line = {"round": number}
        # (a) apply from empty: the module, ipvsadm-restore, keepalived
        run(["ipvsadm", "-C"])
        line["module_full"] = module(directory, "full.json")
        run(["ipvsadm", "-C"])
        line["restore_s"] = timed(["ipvsadm-restore"], os.path.join(directory, "rules.txt"))
        line["restore_lines"] = proc_lines()
        line["keepalived_s"], line["keepalived_lines"] = keepalived(directory, expected)
        # (b) no change: the module on the full table, against ipvsadm -Sn
        run(["ipvsadm", "-C"])
        module(directory, "full.json")
        line["module_nochange"] = module(directory, "full.json")
        line["save_s"] = timed(["ipvsadm", "-Sn"])
        # (c) 10% of the weights changed
        line["module_weights"] = module(directory, "weights.json")
        line["table_lines"] = proc_lines()
        run(["ipvsadm", "-C"])
        line["expected_lines"] = expected
        print(json.dumps(line), flush=True)


def main():
    if sys.argv[1] == "module":
        module_run(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "rounds":
        rounds(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
