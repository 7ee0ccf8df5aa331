"""The guests' root filesystem: a Debian image built once with mmdebstrap and cached by a hash of its recipe.

Everything the roles install must already be in the image, because guests have no route to any package
registry. pyroute2 is deliberately left out: the director role installs it from a wheel the controller holds.
"""
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from lvs_lab import paths
from lvs_lab.errors import LabError

RECIPE_VERSION = 1
SUITES = ("bookworm", "trixie")
IMAGE_SIZE = "2560M"
UML_BINARY = "/usr/bin/linux.uml"
UML_MODULES_ROOT = Path("/usr/lib/uml/modules")

COMMON_PACKAGES = (
    # boot, login, management
    "systemd-sysv", "udev", "dbus", "kmod", "procps", "psmisc", "less", "openssh-server", "ca-certificates",
    "python3", "python3-apt", "python3-pip", "python3-venv",
    # network and load balancing
    "iproute2", "iputils-ping", "curl", "netcat-openbsd", "tcpdump", "ethtool", "nftables", "arptables",
    # x_tables for the director's firewall marks (the UML kernel's nf_tables lacks the ip/ip6/inet families)
    "iptables",
    "ipvsadm", "keepalived", "ldirectord",
    # ldirectord's HTTP checks of IPv6 real servers need Net::INET6Glue, which its package does not pull in
    "libnet-inet6glue-perl",
    # sample service
    "nginx",
    # shared storage: NFS, iSCSI, cluster stack and cluster filesystems
    "nfs-kernel-server", "nfs-common", "targetcli-fb", "open-iscsi", "gfs2-utils", "ocfs2-tools",
    "corosync", "dlm-controld", "e2fsprogs", "util-linux",
)


def uml_kernel_version():
    """The version of the host's UML kernel, from its modules directory."""
    if not os.path.exists(UML_BINARY):
        raise LabError(
            f"{UML_BINARY} is missing: install Debian's user-mode-linux package (make setup does it)"
        )
    versions = sorted(p.name for p in UML_MODULES_ROOT.iterdir()) if UML_MODULES_ROOT.is_dir() else []
    if len(versions) != 1:
        raise LabError(f"expected one UML kernel under {UML_MODULES_ROOT}, found {versions or 'none'}")
    return versions[0]


def packages_for(suite):
    if suite not in SUITES:
        raise LabError(f"unknown suite {suite!r}: choose one of {', '.join(SUITES)}")
    return list(COMMON_PACKAGES)


def recipe(suite):
    """Everything that decides the image's content; its hash names the cached image."""
    guest_files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(paths.GUEST_FILES_DIR.iterdir())
        if p.is_file()
    }
    return {
        "recipe_version": RECIPE_VERSION,
        "suite": suite,
        "packages": packages_for(suite),
        "uml_kernel": uml_kernel_version(),
        "guest_files": guest_files,
        "size": IMAGE_SIZE,
        "mirror": os.environ.get("LVS_LAB_MIRROR", ""),
    }


def recipe_hash(suite):
    encoded = json.dumps(recipe(suite), sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def image_path(suite):
    return paths.cache_root() / "images" / f"{suite}-{recipe_hash(suite)}" / "base.img"


def build(suite="bookworm", force=False, log=print):
    """Build the image for ``suite`` unless a cached one with the same recipe exists. Returns its path."""
    target = image_path(suite)
    if target.exists() and not force:
        log(f"image {target} is up to date (recipe {target.parent.name})")
        return target
    for tool in ("mmdebstrap", "mkfs.ext4"):
        if shutil.which(tool) is None:
            raise LabError(f"{tool} is missing: run 'make setup' (apt-get install mmdebstrap e2fsprogs)")
    if os.geteuid() != 0:
        raise LabError("building the image needs root (mmdebstrap --mode=root)")

    work = target.parent / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    rootfs = work / "rootfs"
    started = time.monotonic()
    log(f"building the {suite} image with mmdebstrap (a few minutes the first time) ...")
    the_recipe = recipe(suite)
    command = [
        "mmdebstrap", "--mode=root", "--variant=minbase", "--format=directory",
        "--skip=cleanup/apt/lists",  # guests keep the package lists: the roles' package tasks read them
        "--include=" + ",".join(the_recipe["packages"]),
        "--customize-hook=sh " + str(paths.GUEST_FILES_DIR / "customize.sh") + ' "$1"',
        suite, str(rootfs),
    ]
    if the_recipe["mirror"]:
        command.append(the_recipe["mirror"])
    env = dict(
        os.environ,
        LVSLAB_GUEST_DIR=str(paths.GUEST_FILES_DIR),
        LVSLAB_UML_MODULES=str(UML_MODULES_ROOT / the_recipe["uml_kernel"]),
    )
    build_log = target.parent / "build.log"
    try:
        with open(build_log, "w") as out:
            result = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode != 0:
            raise LabError(f"mmdebstrap failed (exit {result.returncode}); see {build_log}")
        partial = work / "base.img"
        subprocess.run(
            ["mkfs.ext4", "-q", "-F", "-L", "lvslab-root", "-d", str(rootfs), str(partial), IMAGE_SIZE],
            check=True,
        )
        partial.chmod(0o444)  # guests only ever write to their copy-on-write files
        (target.parent / "recipe.json").write_text(json.dumps(the_recipe, indent=2, sort_keys=True) + "\n")
        partial.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"built {target} in {time.monotonic() - started:.0f} s")
    return target


def cached_image(suite):
    """The cached image for ``suite``, or an error that says how to build it."""
    target = image_path(suite)
    if not target.exists():
        raise LabError(f"no {suite} image for the current recipe: run 'lvs-lab build --suite {suite}'")
    return target
