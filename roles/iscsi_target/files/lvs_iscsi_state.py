# lvs.cluster iscsi_target role: print the LIO target's current state as JSON (read-only, from configfs through
# rtslib-fb), so the role changes only what differs. CHAP secrets are reported as a sha256 of "userid:password".
import hashlib
import json
import sys

import rtslib_fb


def main():
    wanted = sys.argv[1]
    root = rtslib_fb.RTSRoot()
    state = {"backstores": {}, "target": None}
    for so in root.storage_objects:
        if so.plugin == "fileio":
            state["backstores"][so.name] = {"file": so.udev_path, "size": so.size}
    for target in root.targets:
        if target.wwn != wanted:
            continue
        tpgs = list(target.tpgs)
        tpg = tpgs[0] if tpgs else None
        found = {"tpgs": len(tpgs), "luns": [], "portals": [], "acls": {}, "attributes": {}, "enabled": False}
        if tpg is not None:
            found["enabled"] = bool(tpg.enable)
            found["luns"] = sorted(lun.storage_object.name for lun in tpg.luns)
            found["portals"] = sorted("%s:%d" % (p.ip_address, p.port) for p in tpg.network_portals)
            found["attributes"] = dict((k, tpg.get_attribute(k)) for k in ("authentication", "generate_node_acls"))
            for acl in tpg.node_acls:
                secret = "%s:%s" % (acl.chap_userid, acl.chap_password)
                found["acls"][acl.node_wwn] = {
                    "chap": hashlib.sha256(secret.encode()).hexdigest(),
                    "luns": sorted(m.tpg_lun.storage_object.name for m in acl.mapped_luns),
                }
        state["target"] = found
    json.dump(state, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
