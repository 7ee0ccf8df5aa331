# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster report (no I/O): the model's services joined with what the directors' kernels hold, as data (the
JSON), as a text table and as an SVG picture of the topology.

The SVG is written directly (a fixed column layout: clients, directors, virtual services, real servers, storage)
rather than through graphviz: the picture has a known shape, the controller needs no extra package, and the
output is the same for the same data.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

REPORT_VERSION = 1


class LVSReportError(ValueError):
    """Input the report cannot be built from."""


def _held(ip_json):
    held = set()
    for link in ip_json or []:
        for info in link.get("addr_info") or []:
            if info.get("local"):
                held.add(info["local"])
    return held


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _counters(item):
    stats = item.get("stats") or {}
    rates = item.get("rates") or {}
    return {
        "connections": _int(stats.get("conns")),
        "in_packets": _int(stats.get("in_pkts")),
        "out_packets": _int(stats.get("out_pkts")),
        "in_bytes": _int(stats.get("in_bytes")),
        "out_bytes": _int(stats.get("out_bytes")),
        "cps": _int(rates.get("cps")),
        "in_bps": _int(rates.get("in_bps")),
        "out_bps": _int(rates.get("out_bps")),
    }


def _dest_key(ipvs):
    address = ipvs["address"]
    if ":" in address:
        address = "[%s]" % address
    return "%s:%s" % (address, ipvs.get("port") or 0)


def cluster_report(directors, real_servers=None, generated=None):
    """Build the report.

    ``directors`` maps each director to ``{"view": lvs_director_view, "addresses": ip -j address show,
    "ipvs": the registered result of lvs.cluster.ipvs_info (gather all)}``; ``real_servers`` maps each real
    server to its mounts (``findmnt -J`` output: ``{"filesystems": [...]}``).
    """
    if not isinstance(directors, dict) or not directors:
        raise LVSReportError("directors: expected a mapping of director names to their data, got %r" % (directors,))
    for name, data in directors.items():
        for part in ("view", "addresses", "ipvs"):
            if not isinstance(data, dict) or part not in data:
                raise LVSReportError("directors.%s: %s is missing" % (name, part))
    names = sorted(directors)
    held = dict((name, _held(directors[name]["addresses"])) for name in names)
    # The model: the same in every director's view (only placement differs); the first director's is used.
    model = directors[names[0]]["view"]
    vrrp = []
    for instance in model.get("vrrp_instances") or []:
        addresses = [a["address"] for a in instance.get("virtual_ipaddresses") or []]
        holders = [name for name in names if addresses and all(a in held[name] for a in addresses)]
        by_priority = [name for name in names
                       if any(i["name"] == instance["name"] and i.get("state") == "MASTER"
                              for i in directors[name]["view"].get("vrrp_instances") or [])]
        vrrp.append({"name": instance["name"], "master": holders[0] if len(holders) == 1 else None,
                     "holders": holders, "master_by_priority": by_priority[0] if by_priority else None,
                     "addresses": addresses})
    services = []
    for vs in model.get("virtual_servers") or []:
        key = vs["key"]
        ipvs = vs["ipvs"]
        vip = ipvs.get("address")
        if not vip:  # a firewall-mark service: its VIP is the model's address that names it
            vip = next((v["address"] for v in model.get("vips") or [] if vs.get("name") in (v.get("services") or [])),
                       None)
        holder = [name for name in names if vip and vip in held[name]]
        active = holder[0] if len(holder) == 1 else None
        source = active or names[0]
        live = None
        for service in (directors[source]["ipvs"] or {}).get("services") or []:
            if service.get("key") == key:
                live = service
        live_dests = dict((d.get("key"), d) for d in (live or {}).get("destinations") or [])
        rows = []
        seen = set()
        for rs in vs.get("real_servers") or []:
            dkey = _dest_key(rs["ipvs"])
            seen.add(dkey)
            dest = live_dests.get(dkey)
            wanted = _int(rs["ipvs"].get("weight"))
            if dest is None:
                health = "down (not in the table)"
            elif rs.get("drained"):
                health = "drained"
            elif _int(dest.get("weight")) == 0 and wanted > 0:
                health = "down (weight 0)"
            else:
                health = "up"
            row = {"host": rs.get("host"), "destination": dkey,
                   "forwarding": rs["ipvs"].get("forwarding_method"),
                   "weight": None if dest is None else _int(dest.get("weight")), "wanted_weight": wanted,
                   "health": health,
                   "active_connections": _int((dest or {}).get("active_connections")),
                   "inactive_connections": _int((dest or {}).get("inactive_connections")),
                   "persistent_connections": _int((dest or {}).get("persistent_connections"))}
            row.update(_counters(dest or {}))
            rows.append(row)
        for dkey in sorted(set(live_dests) - seen):
            dest = live_dests[dkey]
            row = {"host": None, "destination": dkey, "forwarding": dest.get("forwarding_method"),
                   "weight": _int(dest.get("weight")), "wanted_weight": None, "health": "not in the inventory",
                   "active_connections": _int(dest.get("active_connections")),
                   "inactive_connections": _int(dest.get("inactive_connections")),
                   "persistent_connections": _int(dest.get("persistent_connections"))}
            row.update(_counters(dest))
            rows.append(row)
        entry = {"name": vs.get("name"), "key": key, "family": ipvs.get("family"), "vip": vip,
                 "protocol": ipvs.get("protocol"), "port": ipvs.get("port"), "fwmark": ipvs.get("fwmark"),
                 "scheduler": ipvs.get("scheduler"), "forwarding": vs.get("forwarding"),
                 "director": active, "in_table": live is not None, "real_servers": rows}
        entry.update(_counters(live or {}))
        services.append(entry)
    storage = {}
    for name in sorted(real_servers or {}):
        mounts = []
        for fs in ((real_servers or {})[name] or {}).get("filesystems") or []:
            mounts.append({"target": fs.get("target"), "source": fs.get("source"), "fstype": fs.get("fstype")})
        storage[name] = mounts
    return {"version": REPORT_VERSION, "generated": generated, "directors": names, "vrrp": vrrp,
            "services": services, "storage": storage}


def _service_label(service):
    if service.get("fwmark"):
        return "fwmark %s (%s)" % (service["fwmark"], service.get("vip") or service.get("family"))
    vip = service.get("vip") or ""
    if ":" in vip:
        vip = "[%s]" % vip
    return "%s %s:%s" % (service.get("protocol"), vip, service.get("port"))


def _rate(value):
    for unit in ("", "k", "M", "G"):
        if value < 1000:
            return "%d%s" % (value, unit)
        value //= 1000
    return "%dT" % value


def report_table(report):
    """The report as text: the VRRP masters, one block per service with a row per real server, the storage."""
    lines = []
    for instance in report.get("vrrp") or []:
        master = instance.get("master")
        if master is None:
            master = "NONE (held by %s)" % (", ".join(instance["holders"]) or "no director")
        elif master != instance.get("master_by_priority"):
            master += " (by priority: %s)" % instance.get("master_by_priority")
        lines.append("VRRP %s: master %s" % (instance["name"], master))
    header = ("  %-26s %-8s %-5s %6s  %-24s %7s %8s %9s %6s %8s"
              % ("real server", "host", "fwd", "weight", "health", "active", "inactive", "conns", "cps", "in bps"))
    for service in report.get("services") or []:
        lines.append("")
        lines.append("%s  %s  %s on %s: %d connections, %d/s" % (
            service.get("name"), _service_label(service), service.get("scheduler"),
            service.get("director") or "no director", service.get("connections", 0), service.get("cps", 0)))
        lines.append(header)
        for row in service.get("real_servers") or []:
            lines.append("  %-26s %-8s %-5s %6s  %-24s %7d %8d %9d %6d %8s" % (
                row["destination"], row.get("host") or "-", row.get("forwarding") or "-",
                "-" if row.get("weight") is None else row["weight"], row["health"], row["active_connections"],
                row["inactive_connections"], row["connections"], row["cps"], _rate(row["in_bps"])))
    if report.get("storage"):
        lines.append("")
        lines.append("storage mounts:")
        for host, mounts in sorted(report["storage"].items()):
            lines.append("  %-8s %s" % (host, ", ".join("%s on %s (%s)" % (m.get("source"), m.get("target"),
                                                                           m.get("fstype")) for m in mounts)
                                        or "none"))
    return "\n".join(lines)


def _text(x, y, content, size=12, anchor="start", weight="normal", fill="#222"):
    return ('<text x="%d" y="%d" font-family="sans-serif" font-size="%d" text-anchor="%s" font-weight="%s" '
            'fill="%s">%s</text>' % (x, y, size, anchor, weight, fill, escape(str(content))))


def _box(x, y, width, height, fill, stroke="#555"):
    return ('<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s"/>'
            % (x, y, width, height, fill, stroke))


def _edge(x1, y1, x2, y2, colour="#888", dashed=False):
    return ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="1.5"%s/>'
            % (x1, y1, x2, y2, colour, ' stroke-dasharray="4 3"' if dashed else ""))


_HEALTH_COLOUR = {"up": "#2e7d32", "drained": "#f9a825"}


def report_svg(report):
    """The topology as SVG: clients -> directors (the master marked) -> virtual services -> real servers
    (an edge per destination, labelled with forwarding method, weight and active connections) -> storage."""
    services = report.get("services") or []
    directors = report.get("directors") or []
    hosts = []
    for service in services:
        for row in service.get("real_servers") or []:
            name = row.get("host") or row["destination"]
            if name not in hosts:
                hosts.append(name)
    storage = report.get("storage") or {}
    sources = []
    for mounts in storage.values():
        for mount in mounts:
            if mount.get("source") and mount["source"] not in sources:
                sources.append(mount["source"])
    masters = set(i.get("master") for i in report.get("vrrp") or [] if i.get("master"))
    row_h, box_h = 70, 50
    columns = {"client": 20, "director": 170, "service": 380, "host": 720, "storage": 960}
    widths = {"client": 110, "director": 150, "service": 280, "host": 170, "storage": 220}
    rows = max(len(services), len(hosts), len(directors), len(sources), 1)
    height = 60 + rows * row_h + 20
    width = columns["storage"] + widths["storage"] + 20

    def y_of(index):
        return 60 + index * row_h

    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'
           % (width, height, width, height),
           '<title>lvs.cluster topology</title>',
           '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height)]
    for column, title in (("client", "clients"), ("director", "directors"), ("service", "virtual services"),
                          ("host", "real servers"), ("storage", "storage")):
        out.append(_text(columns[column], 30, title, size=14, weight="bold"))
    middle = box_h // 2
    out.append(_box(columns["client"], y_of(0), widths["client"], box_h, "#eceff1"))
    out.append(_text(columns["client"] + 10, y_of(0) + 30, "clients"))
    director_y = {}
    for index, name in enumerate(directors):
        y = y_of(index)
        director_y[name] = y
        master = name in masters
        out.append(_box(columns["director"], y, widths["director"], box_h, "#bbdefb" if master else "#e3f2fd",
                        "#1565c0" if master else "#90a4ae"))
        out.append(_text(columns["director"] + 10, y + 22, name, weight="bold"))
        out.append(_text(columns["director"] + 10, y + 40, "VRRP master" if master else "backup", size=11))
        out.append(_edge(columns["client"] + widths["client"], y_of(0) + middle, columns["director"], y + middle,
                         "#1565c0" if master else "#cfd8dc", dashed=not master))
    host_y = dict((name, y_of(index)) for index, name in enumerate(hosts))
    for index, service in enumerate(services):
        y = y_of(index)
        out.append(_box(columns["service"], y, widths["service"], box_h, "#f3e5f5"))
        out.append(_text(columns["service"] + 10, y + 22, "%s  %s" % (service.get("name"), _service_label(service)),
                         size=11, weight="bold"))
        out.append(_text(columns["service"] + 10, y + 40, "%s, %s, %d conns" % (
            service.get("scheduler"), service.get("forwarding"), service.get("connections", 0)), size=11))
        if service.get("director") in director_y:
            out.append(_edge(columns["director"] + widths["director"], director_y[service["director"]] + middle,
                             columns["service"], y + middle, "#1565c0"))
        for row in service.get("real_servers") or []:
            name = row.get("host") or row["destination"]
            colour = _HEALTH_COLOUR.get(row["health"], "#c62828")
            x1, y1 = columns["service"] + widths["service"], y + middle
            x2, y2 = columns["host"], host_y[name] + middle
            out.append(_edge(x1, y1, x2, y2, colour, dashed=row["health"] != "up"))
            out.append(_text((x1 + x2) // 2, (y1 + y2) // 2 - 4, "%s w%s %da" % (
                row.get("forwarding"), "-" if row.get("weight") is None else row["weight"],
                row["active_connections"]), size=10, anchor="middle", fill=colour))
    addresses = {}
    for service in services:
        for row in service.get("real_servers") or []:
            addresses.setdefault(row.get("host") or row["destination"], []).append(row["destination"])
    for name in hosts:
        y = host_y[name]
        out.append(_box(columns["host"], y, widths["host"], box_h, "#e8f5e9"))
        out.append(_text(columns["host"] + 10, y + 22, name, weight="bold"))
        out.append(_text(columns["host"] + 10, y + 40, ", ".join(sorted(set(addresses.get(name, []))))[:30],
                         size=10))
    source_y = dict((source, y_of(index)) for index, source in enumerate(sources))
    for source in sources:
        y = source_y[source]
        out.append(_box(columns["storage"], y, widths["storage"], box_h, "#fff3e0"))
        out.append(_text(columns["storage"] + 10, y + 30, source, size=11))
    for name, mounts in sorted(storage.items()):
        for mount in mounts:
            if name in host_y and mount.get("source") in source_y:
                out.append(_edge(columns["host"] + widths["host"], host_y[name] + middle, columns["storage"],
                                 source_y[mount["source"]] + middle, "#ef6c00"))
    out.append("</svg>")
    return "\n".join(out) + "\n"
