"""Command line of the lab: ``lvs-lab VERB [options]``. See ``lvs-lab --help`` and the README."""
import argparse
import json
import os
import subprocess
import sys

import yaml

from lvs_lab import image, inventory, lab, paths, xstate
from lvs_lab.errors import LabError

DEFAULT_NAME = os.environ.get("LVS_LAB_NAME", "default")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="lvs-lab",
        description="A local LVS lab: User-Mode Linux guests with IPVS in a network namespace of their own.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def named(sub):
        sub.add_argument("--name", default=DEFAULT_NAME,
                         help=f"lab name; the namespace is lvslab-NAME (default: {DEFAULT_NAME}, or $LVS_LAB_NAME)")
        return sub

    build = verbs.add_parser("build", help="build (or reuse the cached) guest root image")
    build.add_argument("--suite", default="bookworm", choices=image.SUITES)
    build.add_argument("--force", action="store_true", help="rebuild even if the cached image is current")

    up = named(verbs.add_parser("up", help="start a lab and wait until every guest answers SSH"))
    up.add_argument("--topology", default=str(paths.DEFAULT_TOPOLOGY), help="topology YAML (default: the three-tier lab)")
    up.add_argument("--suite", choices=image.SUITES, help="override the topology's Debian suite")
    up.add_argument("--timeout", type=float, default=lab.SSH_WAIT_TIMEOUT, help="seconds to wait for SSH")

    named(verbs.add_parser("down", help="stop the guests and remove the namespace and all lab files"))

    status = named(verbs.add_parser("status", help="guests, PIDs and host memory of a lab (or list labs)"))
    status.add_argument("--all", action="store_true", help="list every lab on this machine")
    status.add_argument("--json", action="store_true")

    inv = named(verbs.add_parser("inventory", help="print the path of the lab's Ansible inventory"))
    inv.add_argument("--format", choices=("path", "yaml", "molecule"), default="path",
                     help="path (default), the inventory itself, or molecule's instance_config")

    ssh = named(verbs.add_parser("ssh", help="ssh to a guest (extra words run as a command there)"))
    ssh.add_argument("host")
    ssh.add_argument("command", nargs=argparse.REMAINDER)

    execute = named(verbs.add_parser("exec", help="run a command inside the lab namespace: exec -- curl ..."))
    execute.add_argument("command", nargs=argparse.REMAINDER)

    console = named(verbs.add_parser("console", help="show a guest's console log (boot messages)"))
    console.add_argument("host")
    console.add_argument("--follow", "-f", action="store_true")

    kill = named(verbs.add_parser("kill", help="crash one guest: SIGKILL to its UML process (the lab's record "
                                               "stays; 'start' brings it back)"))
    kill.add_argument("host")

    start = named(verbs.add_parser("start", help="start a stopped or killed guest again (same disk and taps) and "
                                                 "wait for SSH"))
    start.add_argument("host")
    start.add_argument("--no-wait", action="store_true", help="return once the guest process runs")
    start.add_argument("--timeout", type=float, default=lab.SSH_WAIT_TIMEOUT, help="seconds to wait for SSH")

    link = named(verbs.add_parser("link", help="cut (down) or heal (up) a guest's link to a lab network"))
    link.add_argument("host")
    link.add_argument("network")
    link.add_argument("action", choices=("down", "up"))

    verbs.add_parser("doctor", help="report the host facts the lab depends on (UML, XSAVE and the shim, tun, "
                                    "memory, disk); exits 1 if the lab cannot run here")

    check = verbs.add_parser("check-topology", help="validate a topology file without starting anything")
    check.add_argument("topology")
    return parser


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    try:
        return VERBS[arguments.verb](arguments) or 0
    except LabError as exc:
        print(f"lvs-lab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lvs-lab: interrupted", file=sys.stderr)
        return 130


def do_build(arguments):
    print(image.build(arguments.suite, force=arguments.force))


def do_up(arguments):
    lab.up(arguments.name, arguments.topology, suite=arguments.suite, timeout=arguments.timeout)


def do_down(arguments):
    lab.down(arguments.name)


def do_status(arguments):
    if arguments.all:
        names = lab.list_labs()
        print("\n".join(names) if names else "no labs")
        return 0
    report = lab.status(arguments.name)
    if arguments.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"lab {report['name']} ({report['phase']}), namespace {report['namespace']}")
    print(f"inventory {report['inventory']}")
    total = 0.0
    for row in report["guests"]:
        total += row["memory_mib"]
        state = "running" if row["running"] else "STOPPED"
        print(f"  {row['host']:<12} {row['address']:<15} pid {row['pid']!s:<8} {state:<8} "
              f"{row['memory_mib']:>7.1f} MiB  {','.join(row['groups']):<14} {xstate.describe(row['xstate_shim'])}")
    print(f"  host memory used by the guests: {total:.0f} MiB")
    return 0 if all(row["running"] for row in report["guests"]) else 1


def do_inventory(arguments):
    topology, _state = lab.load_topology(arguments.name)
    if arguments.format == "path":
        print(paths.inventory_path(arguments.name))
    elif arguments.format == "yaml":
        print(paths.inventory_path(arguments.name).read_text(), end="")
    else:
        config = inventory.molecule_instance_config(topology, arguments.name, paths.controller_key())
        print(yaml.safe_dump(config, sort_keys=False), end="")


def do_ssh(arguments):
    lab.load_topology(arguments.name)[0].host(arguments.host)
    ssh_config = paths.lab_dir(arguments.name) / "ssh_config"
    command = ["ssh", "-F", str(ssh_config), arguments.host, *arguments.command]
    os.execvp("ssh", command)


def do_exec(arguments):
    command = arguments.command[1:] if arguments.command[:1] == ["--"] else arguments.command
    if not command:
        raise LabError("exec needs a command: lvs-lab exec -- curl -s http://198.51.100.100/")
    lab.load_topology(arguments.name)
    return subprocess.run(["ip", "netns", "exec", paths.namespace_name(arguments.name), *command], check=False).returncode


def do_console(arguments):
    lab.load_topology(arguments.name)[0].host(arguments.host)
    log = paths.lab_dir(arguments.name) / "logs" / f"{arguments.host}.log"
    os.execvp("tail", ["tail", "-n", "+1", *(["-F"] if arguments.follow else []), str(log)])


def do_kill(arguments):
    lab.kill_guest(arguments.name, arguments.host)


def do_start(arguments):
    lab.start_guest(arguments.name, arguments.host, wait=not arguments.no_wait, timeout=arguments.timeout)


def do_link(arguments):
    lab.link(arguments.name, arguments.host, arguments.network, arguments.action)


def do_doctor(_arguments):
    from lvs_lab import hostcheck

    rows = hostcheck.facts()
    for label, value, ok in rows:
        print(f"{'ok ' if ok else 'NO '} {label:<18} {value}")
    return 0 if all(ok for _label, _value, ok in rows) else 1


def do_check_topology(arguments):
    from lvs_lab import topology

    parsed = topology.load(arguments.topology)
    print(f"{arguments.topology}: {len(parsed.networks)} networks, {len(parsed.hosts)} hosts, "
          f"groups {', '.join(parsed.groups())}: valid")


VERBS = {
    "build": do_build, "up": do_up, "down": do_down, "status": do_status, "inventory": do_inventory,
    "ssh": do_ssh, "exec": do_exec, "console": do_console, "doctor": do_doctor,
    "check-topology": do_check_topology, "kill": do_kill, "start": do_start, "link": do_link,
}
