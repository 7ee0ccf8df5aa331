# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# This file is PRIVATE to the lvs.cluster collection. It is not a public API: it may change or disappear in any
# release without notice. Do not import it from outside the collection.
"""A director view -> what ldirectord can render of it, and what it cannot. Pure, no I/O.

ldirectord runs one check per virtual service against every real server (its ``checkport`` defaults to each real
server's own port), has no quorum, hysteresis, digest or dynamic-weight checks, no connection thresholds, and
counts a check as passed on its own terms (no list of expected statuses).
"""

from __future__ import annotations


def _service_wide_check(check, real_server_port):
    """A real server's resolved check with its port left out when it is the real server's port (the default)."""
    if check and check.get("port") and check["port"] == real_server_port:
        return dict(check, port=None)
    return check


def ldirectord_view(director):
    """lvs_director_view output -> {virtual_servers: [service with one service-wide health_check], problems: [..]}.

    ``problems`` names each service and field ldirectord cannot express; the role refuses to render when it is
    not empty.
    """
    problems = []
    services = []
    for vs in director["virtual_servers"]:
        name = vs["name"]
        checks = []
        for rs in vs["real_servers"]:
            check = _service_wide_check(rs["health_check"], rs["ipvs"]["port"])
            if check not in checks:
                checks.append(check)
            if rs["ipvs"].get("upper_threshold") or rs["ipvs"].get("lower_threshold"):
                problems.append("%s.real_servers (%s): connection thresholds (ldirectord sets none)"
                                % (name, rs["key"]))
        if len(checks) > 1:
            problems.append("%s.real_servers: the real servers' health checks differ (ldirectord runs one check "
                            "per service)" % name)
        check = checks[0] if checks else vs["health_check"]
        if vs["quorum"] > 1 or vs["hysteresis"]:
            problems.append("%s.quorum/hysteresis (ldirectord has neither)" % name)
        if check and check.get("digest"):
            problems.append("%s.health_check.digest (ldirectord matches no digest)" % name)
        if check and check.get("status") and check["status"] != [200]:
            problems.append("%s.health_check.status %s (ldirectord accepts no status list)" % (name, check["status"]))
        if check and check.get("dynamic"):
            problems.append("%s.health_check.dynamic (ldirectord sets no weights from a script)" % name)
        services.append(dict(vs, health_check=check))
    return {"virtual_servers": services, "problems": problems}
