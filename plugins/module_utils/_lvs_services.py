# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""``lvs_virtual_services`` -> validated, normalized services (one entry per IPVS service). Every error is collected,
each naming the entry and field and the host where one is involved. Pure, no I/O."""

from __future__ import annotations

import ipaddress

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_model import (
    ALL_SCHEDULER_FLAGS,
    DEFAULT_FORWARDING,
    DEFAULT_HTTP_STATUS,
    DEFAULT_PROTOCOL,
    DEFAULT_SCHEDULER,
    DEFAULT_WEIGHT,
    DIRECTOR_GROUP,
    DNS_QUERY_TYPES,
    FORWARDING_METHODS,
    FWMARK_MATCH_FIELDS,
    GATEWAYS_VARIABLE,
    HEALTH_CHECK_DEFAULTS,
    HEALTH_CHECK_FIELDS,
    HEALTH_CHECK_TIMING,
    HEALTH_CHECK_TYPES,
    HEALTH_CHECK_TYPE_FIELDS,
    INTERFACES_VARIABLE,
    LVSModelError,
    MAX_FWMARK,
    MAX_INTERVAL,
    MAX_PERSISTENCE_TIMEOUT,
    MAX_PORT,
    MAX_THRESHOLD,
    MAX_WEIGHT,
    PERSISTENCE_ENGINES,
    PERSISTENCE_FIELDS,
    PROTOCOLS,
    REAL_SERVER_FIELDS,
    SCHEDULERS,
    SCHEDULER_FLAGS,
    SERVICES_VARIABLE,
    SERVICE_FIELDS,
    SORRY_SERVER_FIELDS,
    TUNNEL_ADDRESS_VARIABLE,
    TUNNEL_CHECKSUMS,
    TUNNEL_FIELDS,
    TUNNEL_TYPES,
    _BAD,
    _DIGEST,
    _bool,
    _choice,
    _describe,
    _family,
    _family_label,
    _int,
    _ip,
    _list,
    _mapping,
    _max_prefix,
    _name,
    _netmask_text,
    _number,
    _port_interval,
    _string,
    _unicast_problem,
    _unique,
    destination_key,
    service_key,
)
from ansible_collections.lvs.cluster.plugins.module_utils._lvs_hosts import (
    _Context,
    _Host,
)


# ---------------------------------------------------------------------------------------------------------------
# Services

def normalize_services(virtual_services, hostvars, groups, director_group=DIRECTOR_GROUP):
    """``lvs_virtual_services`` -> the normalized service list (one entry per IPVS service: a service with
    ``ports`` becomes one entry per port). Raises LVSModelError listing every error."""
    context = _Context(hostvars, groups, director_group)
    parser = _ServiceParser(context)
    services = parser.parse(virtual_services)
    errors = _unique(parser.errors)
    if errors:
        raise LVSModelError(errors)
    return services


def service_errors(virtual_services, hostvars, groups, director_group=DIRECTOR_GROUP):
    """Every error ``normalize_services`` would raise, as a list (empty when the input is consistent): for a
    preflight check that reports them itself."""
    try:
        normalize_services(virtual_services, hostvars, groups, director_group)
    except LVSModelError as exc:
        return list(exc.errors)
    return []


class _ServiceParser(object):

    def __init__(self, context):
        self.context = context
        self.errors = context.errors  # one list: errors in the order they are found, host errors where first met

    def parse(self, virtual_services):
        if virtual_services is None:
            virtual_services = []
        items = _list(virtual_services, SERVICES_VARIABLE, self.errors, "a list of virtual services")
        if items is _BAD:
            return []
        result = []
        names = {}
        keys = {}
        for index, entry in enumerate(items):
            path = "%s[%d]" % (SERVICES_VARIABLE, index)
            services = self._service(index, entry, path, names)
            for service, field in services:
                other = keys.get(service["key"])
                if other is not None:
                    self.errors.append("%s.%s: %s is also %s" % (service["_path"], field, service["key"], other))
                    continue
                keys[service["key"]] = service["_path"]
                result.append(service)
        self._cross_checks(result)
        for service in result:
            del service["_path"]
        return result

    # -- one entry -----------------------------------------------------------------------------------------------

    def _service(self, index, entry, path, names):
        errors = self.errors
        if not isinstance(entry, dict):
            errors.append("%s: must be a dictionary, got %s" % (path, _describe(entry)))
            return []
        count = len(errors)
        name = entry.get("name")
        if name is None:
            errors.append("%s.name: required" % path)
            name = _BAD
        else:
            name = _name(name, path + ".name", errors)
        if name is not _BAD:
            path = "%s (%s)" % (path, name)
            if name in names:
                errors.append("%s.name: %s is also %s" % (path, name, names[name]))
            else:
                names[name] = path
        _mapping(entry, path, errors, SERVICE_FIELDS)

        vip = entry.get("vip")
        if vip is None:
            errors.append("%s.vip: required (the virtual IP address)" % path)
            vip = _BAD
        else:
            vip = _ip(vip, path + ".vip", errors,
                      "give the address alone: its prefix length is that of the director's network holding it")
            if vip is not _BAD:
                problem = _unicast_problem(vip)
                if problem:
                    errors.append("%s.vip: %s cannot be a virtual address: %s" % (path, vip, problem))
                    vip = _BAD

        fwmark = entry.get("fwmark")
        if fwmark is not None:
            fwmark = _int(fwmark, path + ".fwmark", errors, 1, MAX_FWMARK, "a firewall mark (1-4294967295)")
        protocol = DEFAULT_PROTOCOL
        ports = []
        ports_field = "port"
        match = []
        if fwmark is not None:
            for field in ("port", "ports", "protocol"):
                if entry.get(field) is not None:
                    errors.append(
                        "%s.%s: a firewall-mark service has no %s of its own; list the traffic the directors mark "
                        "in fwmark_match" % (path, field, field)
                    )
            match = self._fwmark_match(entry.get("fwmark_match"), path + ".fwmark_match")
            ports = [None]
            ports_field = "fwmark"
        else:
            if entry.get("fwmark_match") is not None:
                errors.append("%s.fwmark_match: only for firewall-mark services (set fwmark)" % path)
            if entry.get("protocol") is not None:
                protocol = _choice(entry["protocol"], path + ".protocol", errors, PROTOCOLS)
            ports, ports_field = self._ports(entry, path)

        scheduler = entry.get("scheduler")
        scheduler = DEFAULT_SCHEDULER if scheduler is None else _choice(
            scheduler, path + ".scheduler", errors, SCHEDULERS)
        scheduler_flags = self._scheduler_flags(entry.get("scheduler_flags"), path + ".scheduler_flags", scheduler)
        persistence = self._persistence(entry.get("persistence"), path + ".persistence", vip)
        one_packet = entry.get("one_packet")
        one_packet = False if one_packet is None else _bool(one_packet, path + ".one_packet", errors)
        if one_packet is True and fwmark is None and protocol != "udp" and protocol is not _BAD:
            errors.append("%s.one_packet: one-packet scheduling is for UDP services (or firewall-mark services "
                          "carrying UDP), not %s" % (path, protocol))
        if fwmark is None and persistence is None and 0 in ports:
            errors.append("%s.%s: port 0 (every port) works only for persistent services; set persistence"
                          % (path, ports_field))
        forwarding = entry.get("forwarding")
        forwarding = DEFAULT_FORWARDING if forwarding is None else _choice(
            forwarding, path + ".forwarding", errors, FORWARDING_METHODS)
        tunnel = self._tunnel(entry.get("tunnel"), path + ".tunnel", forwarding)

        instance = self.context._instance_option(entry.get("vrrp_instance"), path + ".vrrp_instance", errors)
        placement = _BAD
        if vip is not _BAD and instance is not _BAD:
            placement = _place_vip(self.context, vip, instance, path, errors)
        if forwarding == "nat" and vip is not _BAD and not self.context.gateways_for(vip.version) \
                and not self.context.gateways_broken:
            errors.append(
                "%s.forwarding: nat needs the directors' floating gateway on the real servers' inside network; "
                "%s has no %s gateway" % (path, GATEWAYS_VARIABLE, _family_label(vip.version))
            )
            forwarding_ok = False
        else:
            forwarding_ok = True

        match_protocols = _unique(item["protocol"] for item in match) if match else [protocol]
        default_check = "tcp" if match_protocols == ["tcp"] else "none"
        service_check = self._check_fields(entry.get("health_check"), path + ".health_check", {}, default_check)
        quorum = entry.get("quorum")
        quorum = 1 if quorum is None else _int(quorum, path + ".quorum", errors, 1, MAX_WEIGHT)
        hysteresis = entry.get("hysteresis")
        hysteresis = 0 if hysteresis is None else _int(hysteresis, path + ".hysteresis", errors, 0, MAX_WEIGHT)
        inhibit = entry.get("inhibit_on_failure")
        inhibit = False if inhibit is None else _bool(inhibit, path + ".inhibit_on_failure", errors)

        service = {
            "path": path, "vip": vip, "family": None if vip is _BAD else _family(vip), "fwmark": fwmark,
            "ports": ports, "forwarding": forwarding if forwarding_ok else _BAD, "placement": placement,
            "match": match, "default_check": default_check,
        }
        real_servers = self._real_servers(entry.get("real_servers"), path + ".real_servers", service,
                                          service_check)
        sorry = self._sorry_server(entry.get("sorry_server"), path + ".sorry_server", service)
        if quorum is not _BAD and real_servers is not _BAD:
            total = sum(rs["weight"] for rs in real_servers)
            if quorum > total:
                errors.append("%s.quorum: %d is more than the real servers' total weight %d, so the service "
                              "would never be up" % (path, quorum, total))
        if len(errors) != count or _BAD in (placement, real_servers, sorry, service_check, persistence, tunnel):
            return []

        result = []
        for port in ports:
            normalized = {
                "name": name,
                "index": index,
                "key": None,
                "family": _family(vip),
                "vip": str(vip),
                "protocol": None if fwmark else protocol,
                "port": None if fwmark else port,
                "fwmark": fwmark,
                "fwmark_match": [dict(item) for item in match],
                "scheduler": scheduler,
                "scheduler_flags": list(scheduler_flags),
                "persistence": dict(persistence) if persistence else None,
                "one_packet": one_packet,
                "forwarding": forwarding,
                "tunnel": dict(tunnel) if tunnel else None,
                "vrrp_instance": placement["instance"],
                "vip_network": placement["network"],
                "real_servers": [],
                "health_check": None,
                "sorry_server": None,
                "quorum": quorum,
                "hysteresis": hysteresis,
                "inhibit_on_failure": inhibit,
                "_path": path,
            }
            normalized["key"] = service_key(normalized)
            fallback_port = port if port else (_port_interval(match[0]["ports"][0])[0] if match else 0)
            normalized["health_check"] = _complete_check(service_check, default_check, fallback_port)
            seen = {}
            for rs in real_servers:
                rs_port = port if rs["port"] is None else rs["port"]
                if fwmark and rs["port"] is None:
                    rs_port = 0
                key = destination_key(rs["address"], rs_port)
                if key in seen:
                    self.errors.append("%s.host: %s is also %s in %s" % (rs["path"], key, seen[key],
                                                                         normalized["key"]))
                    continue
                seen[key] = rs["path"]
                normalized["real_servers"].append({
                    "host": rs["host"],
                    "address": rs["address"],
                    "family": normalized["family"],
                    "port": rs_port,
                    "key": key,
                    "weight": rs["weight"],
                    "upper_threshold": rs["upper_threshold"],
                    "lower_threshold": rs["lower_threshold"],
                    "interface": rs["interface"],
                    "nat_gateway": rs["nat_gateway"],
                    "health_check": _complete_check(rs["check"], default_check, rs_port or fallback_port),
                })
            if sorry:
                normalized["sorry_server"] = {
                    "host": sorry["host"],
                    "address": sorry["address"],
                    "port": port if sorry["port"] is None else sorry["port"],
                    "interface": sorry["interface"],
                    "nat_gateway": sorry["nat_gateway"],
                }
                if fwmark and sorry["port"] is None:
                    normalized["sorry_server"]["port"] = 0
            result.append((normalized, ports_field))
        return result

    def _ports(self, entry, path):
        errors = self.errors
        port, ports = entry.get("port"), entry.get("ports")
        if port is not None and ports is not None:
            errors.append("%s.ports: give port or ports, not both" % path)
            return [], "ports"
        if port is None and ports is None:
            errors.append("%s.port: required (or ports, or fwmark for a firewall-mark service)" % path)
            return [], "port"
        if port is not None:
            number = _int(port, path + ".port", errors, 0, MAX_PORT, "a port number")
            return ([] if number is _BAD else [number]), "port"
        items = _list(ports, path + ".ports", errors, "a list of port numbers")
        if items is _BAD:
            return [], "ports"
        if not items:
            errors.append("%s.ports: must list at least one port" % path)
        result = []
        for position, item in enumerate(items):
            number = _int(item, "%s.ports[%d]" % (path, position), errors, 1, MAX_PORT, "a port number (1-65535)")
            if number is _BAD:
                continue
            if number in result:
                errors.append("%s.ports[%d]: port %d is listed twice" % (path, position, number))
                continue
            result.append(number)
        return result, "ports"

    def _fwmark_match(self, value, path):
        errors = self.errors
        if value is None:
            errors.append("%s: required for a firewall-mark service: the traffic the directors mark, like "
                          "[{protocol: tcp, ports: [80, 443]}]" % path)
            return []
        items = _list(value, path, errors, "a list of {protocol, ports}")
        if items is _BAD:
            return []
        if not items:
            errors.append("%s: must list at least one {protocol, ports}" % path)
        result = []
        for index, item in enumerate(items):
            item_path = "%s[%d]" % (path, index)
            if not _mapping(item, item_path, errors, FWMARK_MATCH_FIELDS):
                continue
            protocol = item.get("protocol")
            protocol = DEFAULT_PROTOCOL if protocol is None else _choice(
                protocol, item_path + ".protocol", errors, PROTOCOLS)
            raw_ports = item.get("ports")
            if raw_ports is None:
                errors.append("%s.ports: required (port numbers, or ranges like \"8000-8100\")" % item_path)
                continue
            if isinstance(raw_ports, (int, str)) and not isinstance(raw_ports, bool):
                raw_ports = [raw_ports]
            raw_ports = _list(raw_ports, item_path + ".ports", errors, "a list of ports or ranges")
            if raw_ports is _BAD:
                continue
            if not raw_ports:
                errors.append("%s.ports: must list at least one port" % item_path)
            ports = []
            for position, raw in enumerate(raw_ports):
                port = self._port_or_range(raw, "%s.ports[%d]" % (item_path, position))
                if port is not _BAD:
                    ports.append(port)
            if protocol is not _BAD:
                result.append({"protocol": protocol, "ports": ports})
        return result

    def _port_or_range(self, value, path):
        if isinstance(value, str) and "-" in value:
            parts = value.split("-")
            if len(parts) == 2 and all(part.strip().isdigit() for part in parts):
                low, high = int(parts[0]), int(parts[1])
                if 1 <= low < high <= MAX_PORT:
                    return "%d-%d" % (low, high)
            self.errors.append("%s: %s is not a port range like \"8000-8100\" (1-65535, low before high)"
                               % (path, _describe(value)))
            return _BAD
        return _int(value, path, self.errors, 1, MAX_PORT, "a port number or a range like \"8000-8100\"")

    def _scheduler_flags(self, value, path, scheduler):
        errors = self.errors
        if value is None:
            return []
        if isinstance(value, str):
            value = [item for item in value.split(",") if item.strip()]
        items = _list(value, path, errors, "a list of scheduler flags")
        if items is _BAD:
            return []
        allowed = SCHEDULER_FLAGS.get(scheduler, ()) if scheduler is not _BAD else None
        result = []
        for item in items:
            flag = item.strip().lower() if isinstance(item, str) else item
            if flag not in ALL_SCHEDULER_FLAGS:
                errors.append("%s: %s is not a scheduler flag (%s)"
                              % (path, _describe(item), ", ".join(ALL_SCHEDULER_FLAGS)))
            elif allowed is not None and flag not in allowed:
                if allowed:
                    errors.append("%s: the %s scheduler takes %s, not %s" % (path, scheduler, " or ".join(allowed),
                                                                             flag))
                else:
                    errors.append("%s: the %s scheduler takes no flags (%s is for the %s scheduler)"
                                  % (path, scheduler, flag, flag.split("-", 1)[0]))
            elif flag not in result:
                result.append(flag)
        return [flag for flag in ALL_SCHEDULER_FLAGS if flag in result]

    def _persistence(self, value, path, vip):
        """None (not persistent) or {timeout, netmask, prefix_length, engine}."""
        errors = self.errors
        if value is None or value is False:
            return None
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            value = {"timeout": value}
        what = "a dictionary (timeout, netmask or prefix_length, engine) or a timeout"
        if not _mapping(value, path, errors, PERSISTENCE_FIELDS, what):
            return _BAD
        timeout = value.get("timeout")
        if timeout is None:
            errors.append("%s.timeout: required (seconds a client sticks to its real server)" % path)
            timeout = _BAD
        else:
            timeout = _int(timeout, path + ".timeout", errors, 1, MAX_PERSISTENCE_TIMEOUT, "a number of seconds")
        netmask, prefix = value.get("netmask"), value.get("prefix_length")
        version = None if vip is _BAD else vip.version
        length = None
        if netmask is not None and prefix is not None:
            errors.append("%s.prefix_length: give netmask or prefix_length, not both" % path)
        elif netmask is not None:
            if version == 6:
                errors.append("%s.netmask: an IPv6 service takes prefix_length" % path)
            else:
                try:
                    length = ipaddress.IPv4Network("0.0.0.0/%s" % str(netmask).strip()).prefixlen
                except ValueError:
                    errors.append("%s.netmask: %s is not a netmask like 255.255.255.0" % (path, _describe(netmask)))
        elif prefix is not None:
            high = 128 if version == 6 else 32
            length = _int(prefix, path + ".prefix_length", errors, 1 if version == 6 else 0, high,
                          "a prefix length")
        if length is None and version is not None:
            length = 32 if version == 4 else 128
        engine = value.get("engine")
        if engine is not None:
            engine = _choice(engine, path + ".engine", errors, PERSISTENCE_ENGINES)
        if _BAD in (timeout, length, engine) or version is None:
            return _BAD
        return {
            "timeout": timeout,
            "netmask": _netmask_text(length) if version == 4 else None,
            "prefix_length": length,
            "engine": engine,
        }

    def _tunnel(self, value, path, forwarding):
        errors = self.errors
        if forwarding != "tun":
            if value is not None and forwarding is not _BAD:
                errors.append("%s: only for forwarding tun, not %s" % (path, forwarding))
            return None
        if value is None:
            value = {}
        if isinstance(value, str):
            value = {"type": value}
        if not _mapping(value, path, errors, TUNNEL_FIELDS, "a dictionary (type, port, checksum)"):
            return _BAD
        kind = value.get("type")
        kind = "ipip" if kind is None else _choice(kind, path + ".type", errors, TUNNEL_TYPES)
        port = value.get("port")
        checksum = value.get("checksum")
        if kind is _BAD:
            return _BAD
        if kind == "gue":
            if port is None:
                errors.append("%s.port: required with type gue (the UDP port the real servers' fou listens on)"
                              % path)
                port = _BAD
            else:
                port = _int(port, path + ".port", errors, 1, MAX_PORT, "a port number")
        elif port is not None:
            errors.append("%s.port: only for type gue, not %s" % (path, kind))
            port = _BAD
        if checksum is not None:
            checksum = _choice(checksum, path + ".checksum", errors, TUNNEL_CHECKSUMS)
            if kind == "ipip" and checksum is not _BAD:
                errors.append("%s.checksum: only for type gue or gre, not ipip" % path)
                checksum = _BAD
            elif checksum == "remcsum" and kind != "gue":
                errors.append("%s.checksum: remcsum is for type gue only" % path)
                checksum = _BAD
        elif kind != "ipip":
            checksum = "nocsum"
        if _BAD in (port, checksum):
            return _BAD
        return {"type": kind, "port": port, "checksum": checksum}

    # -- health checks -------------------------------------------------------------------------------------------

    def _check_fields(self, value, path, inherited, default_type):
        """Validate a health_check dictionary: {field: (value, path)} of the given fields merged over
        ``inherited`` (a real server's check over its service's), or _BAD. ``default_type`` is the type when
        none is given."""
        errors = self.errors
        if value is None:
            return dict(inherited) if inherited is not _BAD else _BAD
        if isinstance(value, str):
            value = {"type": value}
        if not _mapping(value, path, errors, HEALTH_CHECK_FIELDS, "a dictionary (type, port, path, ...) or a type"):
            return _BAD
        own = {}
        for field in HEALTH_CHECK_FIELDS:
            if value.get(field) is None:
                continue
            raw = value[field]
            where = "%s.%s" % (path, field)
            if field == "type":
                parsed = _choice(raw, where, errors, HEALTH_CHECK_TYPES)
            elif field == "port":
                parsed = _int(raw, where, errors, 1, MAX_PORT, "a port number")
            elif field == "path":
                parsed = _string(raw, where, errors, "a URL path starting with /")
                if parsed is not _BAD and not parsed.startswith("/"):
                    errors.append("%s: must start with /, got %s" % (where, _describe(raw)))
                    parsed = _BAD
            elif field == "status":
                parsed = self._status(raw, where)
            elif field == "digest":
                if isinstance(raw, str) and _DIGEST.match(raw.strip()):
                    parsed = raw.strip().lower()
                else:
                    errors.append("%s: must be the MD5 digest of the page (32 hex digits), got %s"
                                  % (where, _describe(raw)))
                    parsed = _BAD
            elif field in ("virtualhost", "query", "script"):
                parsed = _string(raw, where, errors)
            elif field == "query_type":
                parsed = _choice(raw, where, errors, DNS_QUERY_TYPES, upper=True)
            elif field == "dynamic":
                parsed = _bool(raw, where, errors)
            elif field == "retries":
                parsed = _int(raw, where, errors, 0, 100, "a number of retries")
            elif field == "warmup":
                parsed = _number(raw, where, errors, 0, MAX_INTERVAL)
            else:  # interval, timeout, retry_delay
                parsed = _number(raw, where, errors, 0.01, MAX_INTERVAL)
            own[field] = (parsed, where)
        if inherited is _BAD:
            inherited = {}
        if "type" in own and own["type"][0] != inherited.get("type", (default_type,))[0]:
            merged = own  # another type: the real server's check replaces the service's
        else:
            merged = dict(inherited)
            merged.update(own)
        if any(parsed is _BAD for parsed, _where in merged.values()):
            return _BAD
        kind = merged.get("type", (default_type, path))[0]
        if kind is not _BAD:
            allowed = HEALTH_CHECK_TYPE_FIELDS[kind]
            for field, (parsed, where) in merged.items():
                if field != "type" and field not in allowed:
                    errors.append("%s: not for a %s check (a %s check takes %s)" % (
                        where, kind, kind, ", ".join(allowed) or "no other fields"))
            if kind == "dns" and "query" not in merged:
                errors.append("%s.query: required for a dns check (the name to resolve)" % path)
            if kind == "misc" and "script" not in merged:
                errors.append("%s.script: required for a misc check (the command keepalived runs)" % path)
        return merged

    def _status(self, raw, where):
        items = raw if isinstance(raw, (list, tuple)) else [raw]
        result = []
        for position, item in enumerate(items):
            item_where = "%s[%d]" % (where, position) if isinstance(raw, (list, tuple)) else where
            number = _int(item, item_where, self.errors, 100, 599, "an HTTP status code")
            if number is _BAD:
                return _BAD
            if number not in result:
                result.append(number)
        if not result:
            self.errors.append("%s: must list at least one HTTP status code" % where)
            return _BAD
        return sorted(result)

    # -- real servers --------------------------------------------------------------------------------------------

    def _real_servers(self, value, path, service, service_check):
        errors = self.errors
        if value is None:
            errors.append("%s: required (at least one real server)" % path)
            return _BAD
        items = _list(value, path, errors, "a list of real servers")
        if items is _BAD:
            return _BAD
        if not items:
            errors.append("%s: must list at least one real server" % path)
            return _BAD
        result = []
        ok = True
        for index, item in enumerate(items):
            rs = self._real_server(item, "%s[%d]" % (path, index), service, service_check)
            if rs is _BAD:
                ok = False
            else:
                result.append(rs)
        return result if ok else _BAD

    def _real_server(self, item, path, service, service_check):
        errors = self.errors
        count = len(errors)
        if isinstance(item, str):
            try:
                ipaddress.ip_address(item.strip())
                item = {"address": item}
            except ValueError:
                item = {"host": item}
        what = "a dictionary (host or address, port, weight, ...) or a host name"
        if not _mapping(item, path, errors, REAL_SERVER_FIELDS, what):
            return _BAD
        port = self._server_port(item.get("port"), path + ".port", service)
        weight = item.get("weight")
        weight = DEFAULT_WEIGHT if weight is None else _int(weight, path + ".weight", errors, 0, MAX_WEIGHT)
        upper = item.get("upper_threshold")
        upper = 0 if upper is None else _int(upper, path + ".upper_threshold", errors, 0, MAX_THRESHOLD)
        lower = item.get("lower_threshold")
        lower = 0 if lower is None else _int(lower, path + ".lower_threshold", errors, 0, MAX_THRESHOLD)
        if _BAD not in (upper, lower) and lower > upper:
            errors.append(
                "%s.lower_threshold: %d is above upper_threshold %d (an upper threshold of 0 means no limit, and "
                "then the lower one must be 0 too)" % (path, lower, upper))
        check = self._check_fields(item.get("health_check"), path + ".health_check", service_check,
                                   service["default_check"])
        resolved = self._resolve(item, path, service)
        if len(errors) != count or _BAD in (port, weight, upper, lower, check, resolved):
            return _BAD
        resolved.update(path=path, port=port, weight=weight, upper_threshold=upper, lower_threshold=lower,
                        check=check)
        return resolved

    def _server_port(self, value, path, service):
        """A real (or sorry) server's port: None means "the service's port" (0 for a firewall-mark service)."""
        if value is None:
            return None
        forwarding = service["forwarding"]
        if service["fwmark"] is not None:
            number = _int(value, path, self.errors, 0, MAX_PORT, "a port number")
            if number not in (_BAD, 0) and forwarding in ("dr", "tun"):
                self.errors.append("%s: with forwarding %s the real server receives the packets unchanged, so a "
                                   "firewall-mark service's real servers take no port" % (path, forwarding))
                return _BAD
            return number
        ports = service["ports"]
        if len(ports) > 1:
            self.errors.append("%s: the service has several ports (ports), so each real server takes the "
                               "packets on the port they came to; give port only for a single-port service"
                               % path)
            return _BAD
        number = _int(value, path, self.errors, 1, MAX_PORT, "a port number")
        if number is _BAD or not ports:
            return _BAD
        if forwarding in ("dr", "tun") and number != ports[0]:
            self.errors.append("%s: with forwarding %s the real server receives the packets unchanged, so its "
                               "port must be the service's port %d (or left out); only nat can change the port"
                               % (path, forwarding, ports[0]))
            return _BAD
        return number

    def _sorry_server(self, value, path, service):
        errors = self.errors
        if value is None:
            return None
        if isinstance(value, str):
            try:
                ipaddress.ip_address(value.strip())
                value = {"address": value}
            except ValueError:
                value = {"host": value}
        if not _mapping(value, path, errors, SORRY_SERVER_FIELDS, "a dictionary (host or address, port)"):
            return _BAD
        count = len(errors)
        port = self._server_port(value.get("port"), path + ".port", service)
        resolved = self._resolve(value, path, service)
        if len(errors) != count or _BAD in (port, resolved):
            return _BAD
        resolved["port"] = port
        return resolved

    # -- address resolution --------------------------------------------------------------------------------------

    def _resolve(self, item, path, service):
        """The address the directors forward to, by method. -> {host, address, interface, nat_gateway} or _BAD."""
        errors = self.errors
        context = self.context
        host_name, address = item.get("host"), item.get("address")
        if host_name is None and address is None:
            errors.append("%s.host: required (an inventory host name), or address" % path)
            return _BAD
        host = None
        if host_name is not None:
            host_name = _string(host_name, path + ".host", errors, "an inventory host name")
            if host_name is _BAD:
                return _BAD
            if not context.known(host_name):
                errors.append("%s.host: %s is not in the inventory" % (path, host_name))
                return _BAD
            host = context.host(host_name)
            if host is _BAD:
                return _BAD
        if address is not None:
            address = _ip(address, path + ".address", errors)
            if address is _BAD:
                return _BAD
            problem = _unicast_problem(address)
            if problem:
                errors.append("%s.address: %s cannot be a real server: %s" % (path, address, problem))
                return _BAD
        vip, forwarding, placement = service["vip"], service["forwarding"], service["placement"]
        if vip is _BAD or forwarding is _BAD or placement is _BAD:
            return _BAD  # the service's own error says why; nothing to resolve against
        field = path + (".address" if address is not None else ".host")
        who = "host %s" % host_name if host_name is not None else "it"
        version = vip.version
        if address is not None:
            if address.version != version:
                errors.append(self._mixing(field, address, service))
                return _BAD
            interface = None
            if host_name is not None and host is not None:
                interface = host.owner(address)
                if interface is None:
                    errors.append("%s: %s is not an address of host %s (%s)"
                                  % (field, address, host_name, INTERFACES_VARIABLE))
                    return _BAD
            chosen = (interface, address)
        else:
            if host is None:
                errors.append("%s: host %s has no %s host variable, which the model needs to pick the address the "
                              "directors forward to (or give address)" % (field, host_name, INTERFACES_VARIABLE))
                return _BAD
            if not host.addresses(version):
                errors.append("%s: %s has no %s address (%s); an %s service needs %s real servers (the kernel "
                              "forwards across families only with tun, and not while the directors' connection "
                              "sync daemon runs)" % (field, who, _family_label(version), INTERFACES_VARIABLE,
                                                     _family_label(version), _family_label(version)))
                return _BAD
            chosen = None
        gateway = None
        if forwarding == "dr":
            segment = placement["segment"]
            if chosen is None:
                found = next((hit for hit in (host.on_network(n) for n in segment) if hit), None)
                if found is None:
                    errors.append(
                        "%s: %s has no address on the VIP's segment (%s); direct routing needs the real server on the "
                        "directors' L2 segment" % (field, who, self._segment_text(placement)))
                    return _BAD
                chosen = (found[0], found[1].ip)
            elif not any(chosen[1] in network for network in segment):
                errors.append(
                    "%s: %s is not on the VIP's segment (%s); direct routing needs the real server on the directors' "
                    "L2 segment" % (field, chosen[1], self._segment_text(placement)))
                return _BAD
        elif forwarding == "nat":
            if context.gateways_broken:
                return _BAD  # the gateways' own errors say why
            gateways = context.gateways_for(version)
            if chosen is None:
                for candidate in gateways:
                    found = host.on_network(candidate["_network"])
                    if found:
                        chosen, gateway = (found[0], found[1].ip), candidate
                        break
            else:
                gateway = next((g for g in gateways if chosen[1] in g["_network"]), None)
            if gateway is None:
                networks = ", ".join(g["network"] for g in gateways) or "none"
                errors.append(
                    "%s: %s on an inside network with a NAT gateway (%s: %s); NAT replies must go back through the "
                    "directors" % (field, "%s has no %s address" % (who, _family_label(version)) if chosen is None
                                   else "%s is not" % chosen[1], GATEWAYS_VARIABLE, networks))
                return _BAD
        else:  # tun
            if chosen is None:
                if host.tunnel_address is not None:
                    tunnel = host.tunnel_address
                    if tunnel.version != version:
                        errors.append(self._mixing("%s (%s of host %s)" % (field, TUNNEL_ADDRESS_VARIABLE, host_name),
                                                   tunnel, service))
                        return _BAD
                    chosen = (host.owner(tunnel), tunnel)
                else:
                    candidates = [(ifname, a) for ifname, a in host.addresses(version) if not host.is_management(a)]
                    if len(candidates) != 1:
                        listed = ", ".join(str(a.ip) for ifname, a in candidates)
                        errors.append(
                            "%s: %s has %s %s address%s outside the management network%s; set %s on the host (or "
                            "address here) to say where the tunnel ends"
                            % (field, who, "no" if not candidates else "several", _family_label(version),
                               "es" if len(candidates) != 1 else "", " (%s)" % listed if listed else "",
                               TUNNEL_ADDRESS_VARIABLE))
                        return _BAD
                    chosen = (candidates[0][0], candidates[0][1].ip)
        interface, ip = chosen
        if ip == vip:
            errors.append("%s: %s is the VIP itself" % (field, ip))
            return _BAD
        return {
            "host": host_name,
            "address": str(ip),
            "interface": interface,
            "nat_gateway": gateway["address"] if gateway else None,
        }

    @staticmethod
    def _mixing(field, address, service):
        return ("%s: %s is an %s address in an %s service; the model keeps a service and its real servers in one "
                "family (the kernel forwards across families only with tun, and refuses even that while a "
                "connection sync daemon runs, which the directors do)"
                % (field, address, _family_label(address.version), _family_label(service["vip"].version)))

    @staticmethod
    def _segment_text(placement):
        networks = ", ".join(str(n) for n in placement["segment"]) or "no network of that family"
        director, (ifname, _prefix) = next(iter(placement["interfaces"].items()))
        return "%s on director %s's %s" % (networks, director, ifname)

    # -- checks across services ----------------------------------------------------------------------------------

    def _cross_checks(self, services):
        errors = self.errors
        context = self.context
        instance_of_vip = {}
        owners = {}
        hosts = list(context.usable_directors())
        for service in services:
            for rs in service["real_servers"]:
                if rs["host"] and rs["host"] not in hosts and isinstance(context.host(rs["host"]), _Host):
                    hosts.append(rs["host"])
        for host_name in hosts:
            for ifname, address in context.host(host_name).addresses():
                owners.setdefault(address.ip, host_name)
        gateways = dict((ipaddress.ip_address(g["address"]), g["path"]) for g in context.gateways)
        marks = []
        addressed = {}
        for service in services:
            path = service["_path"]
            vip = ipaddress.ip_address(service["vip"])
            other = instance_of_vip.get(vip)
            if other and other[0] != service["vrrp_instance"]:
                errors.append("%s.vrrp_instance: VIP %s is held by VRRP instance %s for %s; one VIP, one instance"
                              % (path, vip, other[0], other[1]))
            instance_of_vip.setdefault(vip, (service["vrrp_instance"], path))
            if vip in owners:
                errors.append("%s.vip: %s is host %s's own address" % (path, vip, owners[vip]))
            if vip in gateways:
                errors.append("%s.vip: %s is the NAT gateway %s" % (path, vip, gateways[vip]))
            if service["fwmark"]:
                for index, item in enumerate(service["fwmark_match"]):
                    for port in item["ports"]:
                        marks.append((service, index, item["protocol"], _port_interval(port)))
            else:
                addressed[(vip, service["protocol"], service["port"])] = service
        for position, (service, index, protocol, (low, high)) in enumerate(marks):
            vip = ipaddress.ip_address(service["vip"])
            where = "%s.fwmark_match[%d].ports" % (service["_path"], index)
            for (address, proto, port), other in addressed.items():
                if address == vip and proto == protocol and (port == 0 or low <= port <= high):
                    errors.append("%s: the directors would mark traffic of service %s (%s) with fwmark %d"
                                  % (where, other["_path"], other["key"], service["fwmark"]))
            for other, other_index, other_protocol, (other_low, other_high) in marks[:position]:
                if other is not service and other["vip"] == service["vip"] and other_protocol == protocol \
                        and low <= other_high and other_low <= high:
                    errors.append("%s: %s ports %s also match %s.fwmark_match[%d] (fwmark %d)"
                                  % (where, protocol, "%d-%d" % (low, high) if low != high else low,
                                     other["_path"], other_index, other["fwmark"]))


def _complete_check(fields, default_type, default_port):
    """Validated health-check fields -> the normalized check, every key present (None when not applicable)."""
    values = dict((field, parsed) for field, (parsed, _where) in fields.items())
    kind = values.get("type", default_type)
    check = dict((field, None) for field in HEALTH_CHECK_FIELDS)
    check["type"] = kind
    if kind == "none":
        return check
    for field in HEALTH_CHECK_TIMING:
        check[field] = values.get(field, HEALTH_CHECK_DEFAULTS[field])
    if kind != "misc":
        check["port"] = values.get("port", default_port or None)
    if kind in ("http", "https"):
        check["path"] = values.get("path", "/")
        check["digest"] = values.get("digest")
        check["status"] = values.get("status", None if check["digest"] else list(DEFAULT_HTTP_STATUS))
        check["virtualhost"] = values.get("virtualhost")
    elif kind == "dns":
        check["query"] = values.get("query")
        check["query_type"] = values.get("query_type", "A")
    elif kind == "misc":
        check["script"] = values.get("script")
        check["dynamic"] = values.get("dynamic", False)
    return check


def _place_vip(context, vip, instance, path, errors):
    """Where the directors hold ``vip``: {instance, network, interfaces: {director: (interface, prefix)}, segment}.

    With ``instance`` (the service's vrrp_instance) the VIP goes on that instance's interface (with the prefix of
    a network there that contains it, else /32 or /128). Without, it goes on the director interface whose network
    contains it, and the instance is the one running on that interface. The segment (for direct routing) is the
    networks of the VIP's family on the first director's VIP interface.
    """
    directors = context.usable_directors()
    if not directors:
        return _BAD
    interfaces = {}
    network = None
    if instance is not None:
        members = context.instance_by_name[instance]["members"]
        for director in directors:
            ifname = members[director]["interface"]
            found = context.host(director).containing(vip, ifname)
            interfaces[director] = (ifname, found[1].network.prefixlen if found else _max_prefix(vip))
            if found and network is None:
                network = found[1].network
    else:
        for director in directors:
            found = context.host(director).containing(vip)
            if found is None:
                errors.append("%s.vip: %s is in no network of director %s (%s); put it in the network of a director "
                              "interface, or set vrrp_instance to hold it as a /%d there"
                              % (path, vip, director, INTERFACES_VARIABLE, _max_prefix(vip)))
                return _BAD
            interfaces[director] = (found[0], found[1].network.prefixlen)
            if network is None:
                network = found[1].network
        instance = context.instance_on(dict((d, i[0]) for d, i in interfaces.items()), path + ".vip", errors,
                                       "VIP %s" % vip)
        if instance is _BAD:
            return _BAD
    first = directors[0]
    return {
        "instance": instance,
        "network": str(network) if network is not None else None,
        "interfaces": interfaces,
        "segment": context.host(first).networks(interfaces[first][0], vip.version),
    }
