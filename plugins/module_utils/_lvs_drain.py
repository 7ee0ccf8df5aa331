# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""Drain and restore of a real server (day-2 operations). Pure, no I/O.

- ``drain_targets``: which IPVS destinations a drain or restore of one real server (optionally in one service)
  touches, with every error in the operator's input named (before any change);
- the drain state the directors keep (``/etc/lvs-cluster/drain.json``): ``normalize_state``, ``update_state``;
  the director view applies it with ``apply_drain``, so every engine and every later ``site.yml`` renders the
  drained real servers with weight 0 from the one data model;
- ``drain_status``: what ``lvs.cluster.ipvs_info`` reads back, as a per-service report and whether the drain (or
  the restore) is complete.
"""

from __future__ import annotations

import copy

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import LVSModelError

# A drained host's entry in the state: every service it is a real server of, including services added later.
ALL_SERVICES = "*"
STATE_VERSION = 1
HEALTH_GATE_TYPES = ("http", "https", "tcp")


def _url_host(address, family):
    return "[%s]" % address if family == "ipv6" else address


def _hosts_of(services):
    hosts = []
    for service in services:
        for rs in service["real_servers"]:
            if rs["host"] and rs["host"] not in hosts:
                hosts.append(rs["host"])
    return hosts


def _target(service, rs):
    check = rs.get("health_check") or {}
    gate = None
    if check.get("type") in HEALTH_GATE_TYPES and check.get("port"):
        gate = {"type": check["type"], "port": check["port"], "timeout": check.get("timeout") or 1}
        if check["type"] in ("http", "https"):
            gate["url"] = "%s://%s:%d%s" % (check["type"], _url_host(rs["address"], service["family"]),
                                            check["port"], check.get("path") or "/")
            gate["status"] = list(check.get("status") or [200])
            gate["virtualhost"] = check.get("virtualhost")
    return {
        "name": service["name"],
        "key": service["key"],
        "host": rs["host"],
        "destination": rs["key"],
        "address": rs["address"],
        "family": service["family"],
        # The service port the real server answers on (0: a firewall-mark service forwarded to the packet's port).
        "port": rs["port"],
        "weight": rs["weight"],
        "persistent": bool(service.get("persistence")),
        "health_gate": gate,
    }


def drain_targets(services, groups, host, service=None, state=None, drain=True, force=False):
    """The destinations a drain (``drain``) or restore of real server ``host`` touches.

    ``services`` are normalized (lvs_services), ``groups`` the inventory groups, ``service`` an optional service
    name or key, ``state`` the directors' current drain state. Returns ``{targets, service_keys, errors}``;
    ``errors`` names each problem with the input (unknown host, unknown service, a host that is not a real server of the
    service, a drain that would leave a service without the weight its quorum needs unless ``force``).
    """
    errors = []
    services = list(services or [])
    known = list((groups or {}).get("all", []))
    hosts = _hosts_of(services)
    if not isinstance(host, str) or not host.strip():
        errors.append("real server: an inventory host name is required (real servers: %s)"
                      % (", ".join(hosts) or "none"))
        return {"targets": [], "service_keys": [], "errors": errors}
    if host not in known:
        errors.append("real server: %s is not in the inventory (real servers: %s)" % (host, ", ".join(hosts) or "none"))
    elif host not in hosts:
        errors.append("real server: %s is a real server of no virtual service (real servers: %s)"
                      % (host, ", ".join(hosts) or "none"))
    if service is not None and not isinstance(service, str):
        errors.append("service: %r is not a service name or key" % (service,))
        service = None
    selected = services
    if service:
        wanted = service.strip()
        selected = [s for s in services if wanted in (s["name"], s["key"])]
        if not selected:
            names = []
            for s in services:
                if s["name"] not in names:
                    names.append(s["name"])
            errors.append("service: %s is no virtual service (names: %s; or a key such as %s)"
                          % (wanted, ", ".join(names) or "none", services[0]["key"] if services else "tcp/VIP:PORT"))
        elif host in hosts and not any(rs["host"] == host for s in selected for rs in s["real_servers"]):
            members = _hosts_of(selected)
            errors.append("service: %s is not a real server of %s (%s); its real servers: %s"
                          % (host, wanted, ", ".join(s["key"] for s in selected), ", ".join(members) or "none"))
    if errors:
        return {"targets": [], "service_keys": [], "errors": errors}

    targets = [_target(s, rs) for s in selected for rs in s["real_servers"] if rs["host"] == host]
    keys = []
    for target in targets:
        if target["key"] not in keys:
            keys.append(target["key"])
    if drain and not force:
        current = normalize_state(state)
        for s in selected:
            if s["key"] not in keys:
                continue
            left = sum(rs["weight"] for rs in s["real_servers"]
                       if rs["host"] != host and not _drained(current, rs["host"], s["key"]))
            if left < s["quorum"]:
                errors.append("service: draining %s would leave %s (%s) with a weight of %d below its quorum %d "
                              "(no real server to send new connections to); restore another real server first, or "
                              "force the drain" % (host, s["name"], s["key"], left, s["quorum"]))
    return {"targets": [] if errors else targets, "service_keys": [] if errors else keys, "errors": errors}


def normalize_state(state):
    """The drain state, ``{host: [service keys] or ['*']}``, from the state file's content (or None); raises
    LVSModelError naming what is malformed."""
    if state in (None, "", {}):
        return {}
    if not isinstance(state, dict):
        raise LVSModelError(["drain state: expected a mapping, got %s" % type(state).__name__])
    drained = state.get("drained", {}) if "version" in state or "drained" in state else state
    if not isinstance(drained, dict):
        raise LVSModelError(["drain state: drained: expected a mapping of host names to service keys"])
    result = {}
    errors = []
    for host, keys in drained.items():
        if not isinstance(host, str) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            errors.append("drain state: drained[%r]: expected a list of service keys (or [\"*\"])" % (host,))
            continue
        if keys:
            result[host] = [ALL_SERVICES] if ALL_SERVICES in keys else sorted(set(keys))
    if errors:
        raise LVSModelError(errors)
    return result


def state_document(drained):
    """What the state file holds (``drained`` normalized)."""
    return {"version": STATE_VERSION, "drained": dict(sorted(normalize_state(drained).items()))}


def update_state(state, host, keys, drain, host_keys=()):
    """The drain state after draining (``drain``) or restoring ``host`` in ``keys`` (empty: every service).

    ``host_keys`` are the keys of every service ``host`` is in, needed to restore one service of a host drained
    in all of them.
    """
    current = normalize_state(state)
    held = current.get(host, [])
    if drain:
        new = [ALL_SERVICES] if not keys or ALL_SERVICES in held else sorted(set(held) | set(keys))
    elif not keys:
        new = []
    else:
        base = list(host_keys) if ALL_SERVICES in held else held
        new = sorted(set(base) - set(keys))
    result = dict(current)
    if new:
        result[host] = new
    else:
        result.pop(host, None)
    return dict(sorted(result.items()))


def _drained(state, host, key):
    held = state.get(host) or []
    return ALL_SERVICES in held or key in held


def apply_drain(services, state):
    """Normalized services with the drained real servers at weight 0: ``(services, applied, stale)``.

    ``applied`` lists what was drained (``{host, name, key, destination, weight}``, the inventory weight);
    ``stale`` the entries of the state that match nothing in the model (a service removed meanwhile), which are
    ignored.
    """
    current = normalize_state(state)
    result = copy.deepcopy(list(services))
    applied = []
    matched = set()
    for service in result:
        for rs in service["real_servers"]:
            if rs["host"] and _drained(current, rs["host"], service["key"]):
                matched.add((rs["host"], ALL_SERVICES if ALL_SERVICES in current[rs["host"]] else service["key"]))
                applied.append({"host": rs["host"], "name": service["name"], "key": service["key"],
                                "destination": rs["key"], "weight": rs["weight"]})
                rs["weight"] = 0
                rs["drained"] = True
    stale = ["%s: %s" % (host, key) for host, keys in current.items() for key in keys if (host, key) not in matched]
    return result, applied, stale


def _kernel_index(ipvs_services):
    index = {}
    for service in ipvs_services or []:
        index[service.get("key")] = dict((d.get("key"), d) for d in service.get("destinations") or [])
    return index


def drain_status(ipvs_services, targets, restore=False, wait_persistence=True):
    """What ipvs_info read (its ``services``, with destinations) measured against ``targets``.

    Drain: a target is done when the kernel has it at weight 0 with no active connection (and, in a persistent
    service with ``wait_persistence``, no persistence template left), or no longer has it at all. Restore: done
    when the kernel has it at the inventory weight. Returns ``{weight_applied, done, services, active,
    inactive, persistent, report}``, ``services`` one row per target, ``report`` one line per row.
    """
    if isinstance(ipvs_services, dict):
        ipvs_services = ipvs_services.get("services", [])
    index = _kernel_index(ipvs_services)
    rows = []
    for target in targets or []:
        destination = index.get(target["key"], {}).get(target["destination"])
        row = {
            "name": target["name"],
            "key": target["key"],
            "destination": target["destination"],
            "present": destination is not None,
            "weight": destination.get("weight") if destination else None,
            "expected_weight": target["weight"] if restore else 0,
            "active_connections": destination.get("active_connections", 0) if destination else 0,
            "inactive_connections": destination.get("inactive_connections", 0) if destination else 0,
            "persistent_connections": destination.get("persistent_connections", 0) if destination else 0,
        }
        if restore:
            row["weight_applied"] = row["weight"] == target["weight"]
            row["done"] = row["weight_applied"]
        else:
            row["weight_applied"] = not row["present"] or row["weight"] == 0
            row["done"] = row["weight_applied"] and row["active_connections"] == 0 and not (
                wait_persistence and target["persistent"] and row["persistent_connections"] > 0)
        rows.append(row)
    status = {
        "weight_applied": all(r["weight_applied"] for r in rows),
        "done": all(r["done"] for r in rows),
        "services": rows,
        "active": sum(r["active_connections"] for r in rows),
        "inactive": sum(r["inactive_connections"] for r in rows),
        "persistent": sum(r["persistent_connections"] for r in rows),
    }
    status["report"] = drain_report(status)
    return status


def drain_report(status):
    """One line per row of ``drain_status``: ``web-dr tcp/198.51.100.100:80 -> 198.51.100.21:80: weight 0,
    0 active, 3 inactive, 0 persistent``."""
    lines = []
    for row in status["services"]:
        if row["present"]:
            lines.append("%s %s -> %s: weight %s, %d active, %d inactive, %d persistent"
                         % (row["name"], row["key"], row["destination"], row["weight"], row["active_connections"],
                            row["inactive_connections"], row["persistent_connections"]))
        else:
            lines.append("%s %s -> %s: not in the table" % (row["name"], row["key"], row["destination"]))
    return lines
