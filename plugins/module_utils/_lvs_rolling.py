# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""Rolling maintenance, and real servers or services joining and leaving (day-2 operations). Pure, no I/O.

- ``rolling_plan``: which real servers a rolling maintenance takes, in order, with every error in the operator's
  input named (before any change);
- ``serving_guard``: what the kernel's table (``lvs.cluster.ipvs_info``) says about taking one real server out -
  every service it is in must keep another destination with weight above 0 (the quorum guard at run time: a
  server that failed its health check is not in the table, or at weight 0);
- ``traffic_status``: whether a restored real server gets new connections again;
- ``model_without``: the inventory's ``lvs_virtual_services`` without one real server (in one service or all) or
  without one service, what the directors and the real server converge to when it leaves.
"""

from __future__ import annotations

import copy

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drain import drain_targets, normalize_state


def _kernel_index(ipvs_services):
    if isinstance(ipvs_services, dict):
        ipvs_services = ipvs_services.get("services", [])
    index = {}
    for service in ipvs_services or []:
        index[service.get("key")] = service
    return index


def _destinations(service):
    return dict((d.get("key"), d) for d in (service or {}).get("destinations") or [])


def model_hosts(services, groups):
    """The real servers of the normalized ``services``, in the order of the ``real_servers`` group (then any
    other)."""
    in_model = []
    for service in services or []:
        for rs in service["real_servers"]:
            if rs["host"] and rs["host"] not in in_model:
                in_model.append(rs["host"])
    ordered = [h for h in (groups or {}).get("real_servers", []) if h in in_model]
    return ordered + [h for h in in_model if h not in ordered]


def rolling_plan(services, groups, hosts=None, state=None):
    """The real servers a rolling maintenance takes, one at a time: ``{hosts, errors}``.

    ``hosts`` (empty: every real server of some service) are checked: each must be in the inventory and a real
    server of some service, and draining it alone (with the servers drained outside this run still drained) must
    leave every service at its quorum. Servers of this run left drained by an interrupted run do not count as
    drained: the run restores each before it takes the next.
    """
    services = list(services or [])
    everyone = model_hosts(services, groups)
    if hosts in (None, ""):
        hosts = []
    if isinstance(hosts, str):
        hosts = [h.strip() for h in hosts.split(",") if h.strip()]
    errors = []
    wanted = []
    for index, host in enumerate(hosts):
        if not isinstance(host, str) or not host.strip():
            errors.append("hosts[%d]: %r is not an inventory host name" % (index, host))
        elif host.strip() in wanted:
            errors.append("hosts[%d]: %s is listed twice" % (index, host.strip()))
        else:
            wanted.append(host.strip())
    if errors:
        return {"hosts": [], "errors": errors}
    if not wanted:
        wanted = list(everyone)
        if not wanted:
            return {"hosts": [], "errors": ["real servers: no virtual service has a real server"]}
    current = normalize_state(state)
    outside = dict((h, keys) for h, keys in current.items() if h not in wanted)
    for host in wanted:
        result = drain_targets(services, groups, host, state=outside, drain=True)
        errors.extend(result["errors"])
    return {"hosts": [] if errors else [h for h in everyone if h in wanted] + [h for h in wanted if h not in everyone],
            "errors": errors}


def serving_guard(ipvs_services, targets, director=None):
    """Errors (empty: go ahead) if taking the targets' real server out leaves a service with no other destination
    of weight above 0 in this director's table (read by ipvs_info with destinations)."""
    index = _kernel_index(ipvs_services)
    errors = []
    seen = []
    for target in targets or []:
        if target["key"] in seen:
            continue
        seen.append(target["key"])
        own = set(t["destination"] for t in targets if t["key"] == target["key"])
        where = " on %s" % director if director else ""
        if target["key"] not in index:
            errors.append("%s %s is not in the IPVS table%s (converge the directors first: playbooks/site.yml)"
                          % (target["name"], target["key"], where))
            continue
        destinations = _destinations(index[target["key"]])
        serving = sorted(key for key, d in destinations.items() if key not in own and (d.get("weight") or 0) > 0)
        if not serving:
            others = ", ".join("%s weight %s" % (key, d.get("weight")) for key, d in sorted(destinations.items())
                               if key not in own) or "none"
            errors.append("taking %s out would leave %s %s with no real server in service%s (the others: %s); "
                          "bring one back first" % (target["host"], target["name"], target["key"], where, others))
    return errors


def traffic_status(before, after, targets):
    """Whether the restored real server gets new connections: ``{carrying, idle, report}``.

    ``before`` and ``after`` are ipvs_info results with stats. ``carrying``: every target (with an inventory
    weight above 0) got a new connection since ``before``; ``idle``: no target's service got any (nothing to
    carry on this director - a backup director, a quiet service).
    """
    first, last = _kernel_index(before), _kernel_index(after)
    carrying, idle, report = True, True, []
    for target in targets or []:
        service_before = (first.get(target["key"]) or {}).get("stats") or {}
        service_after = (last.get(target["key"]) or {}).get("stats") or {}
        dest_before = (_destinations(first.get(target["key"])).get(target["destination"]) or {}).get("stats") or {}
        dest_after = (_destinations(last.get(target["key"])).get(target["destination"]) or {}).get("stats") or {}
        new = service_after.get("conns", 0) - service_before.get("conns", 0)
        mine = dest_after.get("conns", 0) - dest_before.get("conns", 0)
        if new > 0:
            idle = False
        if target["weight"] > 0 and mine <= 0:
            carrying = False
        report.append("%s %s -> %s: %d of %d new connections" % (target["name"], target["key"], target["destination"],
                                                                 mine, new))
    return {"carrying": carrying, "idle": idle, "report": report}


def model_without(virtual_services, host=None, service=None):
    """``lvs_virtual_services`` (the inventory's list) without real server ``host`` (in service ``service`` by
    name, or in every service), or without the whole service ``service`` when no ``host`` is given.

    Returns ``{virtual_services, errors}``; an error names the input that matches nothing, or a service the
    removal would leave without a real server (remove the service instead).
    """
    services = copy.deepcopy(list(virtual_services or []))
    names = [s.get("name") for s in services if isinstance(s, dict)]
    errors = []
    if service and service not in names:
        errors.append("service: %s is no virtual service (names: %s)" % (service, ", ".join(str(n) for n in names)))
    if not host:
        if not service:
            errors.append("a real server (lvs_real_server) or a service (lvs_service) is required")
        return {"virtual_services": [] if errors else [s for s in services if s.get("name") != service],
                "errors": errors}
    if errors:
        return {"virtual_services": [], "errors": errors}
    found = False
    for entry in services:
        if not isinstance(entry, dict) or (service and entry.get("name") != service):
            continue
        kept = [rs for rs in entry.get("real_servers") or []
                if (rs.get("host") if isinstance(rs, dict) else rs) != host]
        if len(kept) != len(entry.get("real_servers") or []):
            found = True
            if not kept:
                errors.append("service: removing %s would leave %s with no real server; remove the service instead "
                              "(playbooks/remove_service.yml -e lvs_service=%s)" % (host, entry.get("name"),
                                                                                    entry.get("name")))
            entry["real_servers"] = kept
    if not found:
        where = "no service named " + service if service else "no virtual service"
        errors.append("real server: %s is a real server of %s" % (host, where))
    return {"virtual_services": [] if errors else services, "errors": errors}


def member_targets(services, groups, host=None, service=None, state=None, leave=False):
    """The real servers joining or leaving (``leave``) and their destinations: ``{hosts, targets, errors}``.

    ``host`` (optionally only in service ``service``), or with no host every real server of service ``service``
    (a whole service). A real server leaving alone must not leave a service below its quorum.
    """
    services = list(services or [])
    if host:
        result = drain_targets(services, groups, host, service or None, state=state, drain=leave)
        return {"hosts": [] if result["errors"] else [host], "targets": result["targets"],
                "errors": result["errors"]}
    if not service:
        return {"hosts": [], "targets": [],
                "errors": ["a real server (lvs_real_server) or a service (lvs_service) is required"]}
    selected = [s for s in services if service in (s["name"], s["key"])]
    if not selected:
        names = []
        for s in services:
            if s["name"] not in names:
                names.append(s["name"])
        return {"hosts": [], "targets": [], "errors": ["service: %s is no virtual service (names: %s)"
                                                       % (service, ", ".join(names) or "none")]}
    hosts = model_hosts(selected, groups)
    targets = []
    for name in hosts:
        targets.extend(drain_targets(services, groups, name, service, drain=False)["targets"])
    return {"hosts": hosts, "targets": targets, "errors": []}
