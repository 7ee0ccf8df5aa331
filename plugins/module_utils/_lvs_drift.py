# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift: what the live cluster holds against what the one data model wants, as readable lines (no I/O).

Every line reads ``HOST OBJECT: wanted WANTED, found FOUND``. The wanted side always comes from the model (the
director and real-server views, the director role's templates, the ``lvs.cluster.ipvs`` module's plan); these
functions only put what was read next to it.
"""

from __future__ import annotations

import difflib
import re

_CHANGE = re.compile(r"^(create|modify|remove) (service|destination) (\S+)(?: of (\S+))?(?: \((.*)\))?$")
# The ipvs module names the options that differ; the service views name one of them differently.
_VIEW_FIELD = {"persistence_engine": "pe_name"}


def line(host, obj, wanted, found):
    return "%s %s: wanted %s, found %s" % (host, obj, wanted, found)


def _service_text(view):
    if view is None:
        return "absent"
    text = "present (scheduler %s" % view.get("scheduler")
    if view.get("persistence_timeout"):
        text += ", persistent %ss" % view.get("persistence_timeout")
    dests = view.get("destinations")
    if dests is not None:
        text += ", %d real server%s" % (len(dests), "" if len(dests) == 1 else "s")
    return text + ")"


def _dest_text(view):
    if view is None:
        return "absent"
    return "present (%s, weight %s)" % (view.get("forwarding_method"), view.get("weight"))


def _find_dest(service_view, key):
    for dest in (service_view or {}).get("destinations") or []:
        if dest.get("key") == key:
            return dest
    return None


def ipvs_drift(host, result):
    """The result of ``lvs.cluster.ipvs`` run in check and diff mode with the wanted table -> drift lines.

    The module plans the changes that would make the kernel's table the model's; each planned change is one
    difference. The diff's ``before`` is what the kernel holds, ``after`` what the model wants.
    """
    if not isinstance(result, dict):
        raise TypeError("expected the registered result of lvs.cluster.ipvs, got %s" % type(result).__name__)
    if result.get("failed"):
        return [line(host, "IPVS table", "readable", "an error: %s" % result.get("msg", "unknown"))]
    diff = result.get("diff") or {}
    if isinstance(diff, list):
        diff = diff[0] if diff else {}
    before = (diff.get("before") or {}).get("services") or {}
    after = (diff.get("after") or {}).get("services") or {}
    lines = []
    for change in result.get("changes") or []:
        match = _CHANGE.match(change)
        if not match:
            lines.append(line(host, "IPVS table", "no change", change))
            continue
        action, kind, key, service_key, fields = match.groups()
        if kind == "service":
            obj = "IPVS service %s" % key
            if action == "modify":
                for field in (fields or "").split(", "):
                    name = _VIEW_FIELD.get(field, field)
                    lines.append(line(host, "%s %s" % (obj, field), (after.get(key) or {}).get(name),
                                      (before.get(key) or {}).get(name)))
            else:
                lines.append(line(host, obj, _service_text(after.get(key)), _service_text(before.get(key))))
        else:
            obj = "IPVS service %s real server %s" % (service_key, key)
            wanted = _find_dest(after.get(service_key), key)
            found = _find_dest(before.get(service_key), key)
            if action == "modify":
                for field in (fields or "").split(", "):
                    lines.append(line(host, "%s %s" % (obj, field), (wanted or {}).get(field),
                                      (found or {}).get(field)))
            elif action == "create":
                lines.append(line(host, obj, _dest_text(wanted), "absent"))
            else:
                lines.append(line(host, obj, "absent (not in the inventory)", _dest_text(found)))
    return lines


def file_drift(host, path, result, secret=False, context=3):
    """The result of ``ansible.builtin.template`` in check mode -> drift lines for one configuration file.

    With ``secret`` (the file holds a password), only that the file differs is said, never a line of it.
    """
    if not isinstance(result, dict):
        raise TypeError("expected the registered result of a template task, got %s" % type(result).__name__)
    if result.get("skipped"):
        return []
    if result.get("failed"):
        return [line(host, path, "rendered from the inventory", "an error: %s" % result.get("msg", "unknown"))]
    if not result.get("changed"):
        return []
    diffs = result.get("diff") or []
    if isinstance(diffs, dict):
        diffs = [diffs]
    if secret or not diffs:
        return [line(host, path, "the content rendered from the inventory",
                     "a different content (not shown: it holds a secret)" if secret else "a different content")]
    before = diffs[0].get("before")
    after = diffs[0].get("after")
    if not before:
        return [line(host, path, "the content rendered from the inventory", "an absent or empty file")]
    old, new = before.splitlines(), (after or "").splitlines()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    lines = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        found = " | ".join(s.strip() for s in old[i1:i2]) or "nothing"
        wanted = " | ".join(s.strip() for s in new[j1:j2]) or "nothing"
        lines.append(line(host, "%s line %d" % (path, i1 + 1), '"%s"' % wanted, '"%s"' % found))
        if len(lines) >= context:
            lines.append(line(host, path, "(more differences)", "see the task's diff (--diff)"))
            break
    if not lines:
        lines.append(line(host, path, "the rendered content", "a different content (whitespace or mode)"))
    return lines


def _held(ip_json):
    """``ip -j address show`` -> {address: interface} for the global addresses."""
    held = {}
    for link in ip_json or []:
        for info in link.get("addr_info") or []:
            if info.get("scope", "global") == "global" and info.get("local"):
                held.setdefault(info["local"], link.get("ifname"))
    return held


def vip_drift(directors):
    """VIP placement over the directors: each VIP and NAT gateway on exactly one director, the VRRP master.

    ``directors`` maps each director to ``{"view": its lvs_director_view, "addresses": ip -j address show}``.
    The wanted master of a VRRP instance is the director whose view starts it as MASTER (highest priority).
    """
    wanted = {}
    masters = {}
    for name in sorted(directors):
        data = directors[name] or {}
        view = data.get("view") or {}
        for instance in view.get("vrrp_instances") or []:
            if instance.get("state") == "MASTER":
                masters.setdefault(instance["name"], name)
        for item in (view.get("vips") or []) + (view.get("nat_gateways") or []):
            wanted.setdefault(item["address"], item.get("vrrp_instance"))
    lines = []
    for address in sorted(wanted):
        instance = wanted[address]
        master = masters.get(instance)
        holders = sorted(name for name in directors if address in _held((directors[name] or {}).get("addresses")))
        want = "on %s (the VRRP master of %s)" % (master, instance) if master else "on exactly one director"
        if not holders:
            lines.append(line("cluster", "VIP %s" % address, want, "on no director"))
        elif len(holders) > 1:
            lines.append(line("cluster", "VIP %s" % address, want, "on %s" % ", ".join(holders)))
        elif master and holders[0] != master:
            lines.append(line("cluster", "VIP %s" % address, want, "on %s" % holders[0]))
    return lines


def real_server_drift(host, view, sysctls, ip_json, dr_interface="lvs-dr", arp_filter=False):
    """A real server's sysctls and VIP devices against its ``lvs_real_server_view``.

    ``sysctls`` maps each sysctl name to its live value (None: the key does not exist); with ``arp_filter``
    (arptables suppresses ARP) the arp_ignore/arp_announce keys are not wanted.
    """
    lines = []
    arp_key = re.compile(r"^net\.ipv4\.conf\.[^.]+\.arp_(ignore|announce)$")
    for item in view.get("sysctls") or []:
        if arp_filter and arp_key.match(item["name"]):
            continue
        found = (sysctls or {}).get(item["name"])
        if found is None or str(found).strip() != str(item["value"]):
            lines.append(line(host, "sysctl %s" % item["name"], item["value"],
                              "absent" if found is None else str(found).strip()))
    links = dict((link.get("ifname"), link) for link in ip_json or [])
    expected = {}
    for device in ("tunl0", "gre0"):
        expected[device] = []
    dr_vips = (view.get("dr") or {}).get("vips") or []
    if dr_vips:
        expected[dr_interface] = sorted(v["cidr"] for v in dr_vips)
    for vip in (view.get("tun") or {}).get("vips") or []:
        expected.setdefault(vip["interface"], [])
        expected[vip["interface"]] = sorted(expected[vip["interface"]] + [vip["cidr"]])
    for device in sorted(expected):
        link = links.get(device)
        if link is None:
            if expected[device]:
                lines.append(line(host, "device %s" % device, "present with %s" % ", ".join(expected[device]),
                                  "absent"))
            continue
        held = sorted("%s/%s" % (i["local"], i["prefixlen"]) for i in link.get("addr_info") or []
                      if i.get("scope", "global") == "global")
        if held != expected[device]:
            lines.append(line(host, "device %s addresses" % device, ", ".join(expected[device]) or "none",
                              ", ".join(held) or "none"))
        if device == dr_interface and "NOARP" not in (link.get("flags") or []):
            lines.append(line(host, "device %s" % device, "NOARP", "ARP on"))
    return lines
