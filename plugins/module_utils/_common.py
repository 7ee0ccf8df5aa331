# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""Glue between AnsibleModule and the IPVS layers, shared by the write modules (``ipvs``, ``ipvs_service``).

``IPVSReconciler.run`` is the whole job: facts about the running kernel (which schedulers and persistence
engines it offers), one read of the table, the plan (``_ipvs_diff``), the writes in batches unless in check mode,
and the result. Errors are raised as IPVSError / IPVSModelError subclasses; ``failure`` turns one into
``fail_json`` arguments, so that each module's ``main()`` has a single exception boundary.
"""

from __future__ import annotations

import os

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_diff import (
    IPVSValidationError,
    check_kernel_support,
    explain_error,
    needs_mixed_families,
    plan_changes,
    raw_key,
)
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_model import IPVSModelError
from ansible_collections.lvs.cluster.plugins.module_utils._ipvs_netlink import (
    HAS_PYROUTE2,
    PYROUTE2_IMPORT_ERROR,
    PYROUTE2_REQUIREMENT,
    BatchReport,
    IPVSError,
    IPVSNetlink,
    IPVSNotLoaded,
    pyroute2_missing_message,
)

IPVS_MODULE = "ip_vs"
MODULE_SUFFIXES = (".ko", ".ko.xz", ".ko.gz", ".ko.zst")
NOT_SCHEDULERS = ("ftp",)  # ip_vs_ftp is an application helper
# How many lines of ``changes`` a result carries unless diff mode or verbosity >= 2 asks for all of them. The
# counts (``summary``) are always exact; ``changes_omitted`` says how many lines were left out. An 11,000-line
# list costs more to serialise, send back and render on the controller than the netlink work itself.
CHANGES_SHOWN = 50


def require_pyroute2(module):
    """fail_json with install hints when pyroute2 is missing or too old."""
    if not HAS_PYROUTE2:
        module.fail_json(
            msg=pyroute2_missing_message(missing_required_lib(PYROUTE2_REQUIREMENT)),
            exception=PYROUTE2_IMPORT_ERROR,
        )


class IPVSApplyError(IPVSError):
    """The kernel refused some changes (or their replies were lost): what was applied and what was not."""

    def __init__(self, message, applied, refused, not_applied, unknown, summary):
        super(IPVSApplyError, self).__init__(message)
        self.applied = applied
        self.refused = refused
        self.not_applied = not_applied
        self.unknown = unknown
        self.summary = summary


# ---------------------------------------------------------------------------------------------------------------
# The running kernel's IPVS modules

class KernelModules(object):
    """IPVS schedulers and persistence engines the running kernel offers (built in, loaded, or loadable), and
    which ``ip_vs*`` modules are loaded. ``schedulers``/``engines`` are None when that cannot be told."""

    def __init__(self, loaded=None, offered=None):
        self.loaded = set(loaded or ())
        self.offered = None if offered is None else set(offered) | self.loaded
        if self.offered is None:
            self.schedulers = self.engines = None
        else:
            names = [name[len("ip_vs_"):] for name in self.offered if name.startswith("ip_vs_")]
            self.schedulers = set(name for name in names if not name.startswith("pe_") and name not in NOT_SCHEDULERS)
            self.engines = set(name[3:] for name in names if name.startswith("pe_"))


def _module_name(path):
    name = os.path.basename(path.strip())
    for suffix in MODULE_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)].replace("-", "_")
    return None


def probe_kernel_modules(root="/", release=None):
    """Read /proc/modules and /lib/modules/<release>/modules.{builtin,dep}: the ``KernelModules`` of this host.

    The kernel loads ip_vs_<scheduler> itself when a service asks for a scheduler it does not have; this tells
    up front which ones exist, so that an unknown scheduler is an input error before any change.
    """
    loaded = set()
    try:
        with open(os.path.join(root, "proc/modules")) as handle:
            for line in handle:
                name = line.split(" ", 1)[0]
                if name.startswith(IPVS_MODULE):
                    loaded.add(name)
    except (IOError, OSError):
        pass
    release = release or os.uname()[2]
    offered = None
    for index_name in ("modules.builtin", "modules.dep"):
        try:
            with open(os.path.join(root, "lib/modules", release, index_name)) as handle:
                lines = handle.read().splitlines()
        except (IOError, OSError):
            continue
        offered = offered or set()
        for line in lines:
            if "ip_vs" not in line:
                continue
            name = _module_name(line.split(":", 1)[0])
            if name and name.startswith(IPVS_MODULE):
                offered.add(name)
    return KernelModules(loaded, offered)


def modprobe(module, name):
    """``modprobe NAME``; raises IPVSError when it fails."""
    command = module.get_bin_path("modprobe", required=True)
    rc, out, err = module.run_command([command, name])
    if rc != 0:
        raise IPVSError("'modprobe %s' failed (rc=%d): %s" % (name, rc, (err or out).strip()))


# ---------------------------------------------------------------------------------------------------------------
# The run

class IPVSSession(object):
    """A module's access to IPVS: opens the netlink client (loading ``ip_vs`` with ``load_modules``) and keeps
    the list of kernel modules the run loaded."""

    def __init__(self, module, client_factory=None):
        self.module = module
        self.client_factory = client_factory or IPVSNetlink
        self.load_modules = bool(module.params.get("load_modules"))
        self.loaded_modules = []

    def open(self, needed=True):
        """The open client. None when IPVS is not loaded and not ``needed`` (nothing is declared present, and a
        kernel without IPVS has nothing to remove)."""
        client = self.client_factory()
        try:
            client.open()
        except IPVSNotLoaded:
            if not needed and not self.load_modules:
                return None
            if not self.load_modules:
                raise IPVSNotLoaded(
                    "IPVS is not available: the kernel has no IPVS generic netlink family (the ip_vs module is not "
                    "loaded). Load it with 'modprobe ip_vs', or set load_modules=true."
                )
            modprobe(self.module, IPVS_MODULE)
            self.loaded_modules.append(IPVS_MODULE)
            client.open()
        return client


class IPVSReconciler(IPVSSession):
    """Read the table once, plan, apply in batches (unless in check mode), and build the result."""

    def __init__(self, module, client_factory=None, probe=None):
        super(IPVSReconciler, self).__init__(module, client_factory)
        self.probe = probe or probe_kernel_modules
        self.plan = None

    def _load_for(self, kernel):
        """With load_modules, modprobe the scheduler and persistence-engine modules the changes need."""
        if not self.load_modules or kernel.offered is None:
            return
        wanted = set()
        for change in self.plan.changes:
            if change.kind == "service" and change.action != "remove":
                wanted.add("ip_vs_%s" % change.service["sched_name"])
                if change.service.get("pe_name"):
                    wanted.add("ip_vs_pe_%s" % change.service["pe_name"])
        for name in sorted(wanted):
            if name in kernel.offered and name not in kernel.loaded:
                modprobe(self.module, name)
                self.loaded_modules.append(name)
                kernel.loaded.add(name)

    def run(self, specs, exclusive=False):
        """Make the kernel's table match ``specs`` (``_ipvs_diff.ServiceSpec`` list); returns the result dict."""
        kernel = self.probe()
        check_kernel_support(specs, kernel.schedulers, kernel.engines)
        want_diff = bool(self.module._diff)
        # Destinations are dumped for the declared services (to diff them, and to show them in diffs), and for
        # the services that are removed only when a diff shows them.
        dump_keys = set(spec.key for spec in specs if spec.state == "present" or want_diff)
        client = self.open(needed=any(spec.state == "present" for spec in specs))
        if client is None:
            self.plan = plan = plan_changes(specs, [], exclusive)
            return self._result(plan, want_diff)
        try:
            if needs_mixed_families(specs):
                daemons = [daemon.get("mcast_ifn") or "?" for daemon in client.get_daemons()]
                check_kernel_support(specs, sync_daemons=daemons)

            def dump_destinations(raw):
                return raw_key(raw) in dump_keys or (exclusive and want_diff)

            current = client.dump_table(destinations=dump_destinations)
            self.plan = plan = plan_changes(specs, current, exclusive)
            if plan.changes and not self.module.check_mode:
                self._load_for(kernel)
                report = client.apply([change.request for change in plan.changes])
                self._raise_for(report)
        finally:
            client.close()
        return self._result(plan, want_diff)

    def _result(self, plan, want_diff):
        result = {"changed": plan.changed, "loaded_modules": self.loaded_modules}
        # One line per change, the first CHANGES_SHOWN of them unless a diff or -vv asks for every line.
        shown = plan.changes
        if not (want_diff or self.module._verbosity >= 2):
            shown = shown[:CHANGES_SHOWN]
        result["changes"] = [change.describe() for change in shown]
        result["changes_omitted"] = len(plan.changes) - len(shown)
        result["summary"] = plan.summary()
        if want_diff:
            result["diff"] = plan.diff()
        return result

    def _raise_for(self, report):
        plan = self.plan
        applied, failed, not_applied, unknown = [], [], [], []
        for change, outcome in zip(plan.changes, report.outcomes):
            if outcome == 0:
                applied.append(change)
            elif outcome is None:
                not_applied.append(change)
            elif outcome == BatchReport.UNKNOWN:
                unknown.append(change)
            else:
                failed.append((change, outcome))
        if not (failed or not_applied or unknown):
            return
        parts = []
        if failed:
            parts.append("the kernel refused %d of %d changes: %s" % (
                len(failed), len(plan.changes),
                "; ".join("%s: %s" % (change.describe(), explain_error(change, code)) for change, code in failed[:10])
                + ("; ..." if len(failed) > 10 else "")))
        if report.transport_error is not None:
            parts.append(str(report.transport_error))
        if unknown:
            parts.append("%d changes were sent but their outcome is unknown (replies were lost)" % len(unknown))
        parts.append("%d changes were applied and %d were not sent" % (len(applied), len(not_applied)))
        raise IPVSApplyError(
            "Applying the IPVS changes failed: %s." % "; ".join(parts),
            applied=[change.describe() for change in applied],
            refused=[{"change": change.describe(), "error": explain_error(change, code), "errno": code}
                     for change, code in failed],
            not_applied=[change.describe() for change in not_applied],
            unknown=[change.describe() for change in unknown],
            summary=plan.summary(applied),
        )


def failure(exc, result=None):
    """The fail_json arguments for an exception from the IPVS layers."""
    args = dict(result or {})
    args.setdefault("changed", bool(getattr(exc, "changed", False)))
    if isinstance(exc, IPVSValidationError):
        args.update(msg="Invalid input: %s" % "; ".join(exc.errors), errors=exc.errors)
    elif isinstance(exc, IPVSApplyError):
        args.update(msg=str(exc), changed=bool(exc.applied), applied=exc.applied, refused=exc.refused,
                    not_applied=exc.not_applied, unknown=exc.unknown, summary=exc.summary, changes=exc.applied)
    elif isinstance(exc, IPVSError):
        args.update(msg=str(exc), errno=exc.errno)
    elif isinstance(exc, IPVSModelError):
        args.update(msg="Invalid input: %s" % exc)
    else:
        args.update(msg=str(exc))
    return args


def run_module(module, job, session_class=IPVSReconciler, invocation=None):
    """The ``main()`` of a write module, after its AnsibleModule is made: the pyroute2 check, then
    ``job(module, session)`` inside the one exception boundary, then exit_json or fail_json.
    ``invocation(params)``, when given, replaces the arguments the result echoes."""
    require_pyroute2(module)
    session = session_class(module)
    echo = {"invocation": invocation(module.params)} if invocation else {}
    try:
        result = job(module, session)
    except (IPVSModelError, IPVSError) as exc:
        module.fail_json(**failure(exc, dict(echo, loaded_modules=session.loaded_modules)))
    module.exit_json(**dict(echo, **result))
