"""Where the lab keeps its files.

State (one directory per lab: guest disks, logs, inventory) lives under ``$LVS_LAB_STATE_DIR`` or
``${XDG_STATE_HOME:-~/.local/state}/lvs-lab``; built images under ``$LVS_LAB_CACHE_DIR`` or
``${XDG_CACHE_HOME:-~/.cache}/lvs-lab``.
"""
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
GUEST_FILES_DIR = PACKAGE_DIR / "guest"
DEFAULT_TOPOLOGY = PACKAGE_DIR / "topologies" / "default.yml"
NAMESPACE_PREFIX = "lvslab-"


def _xdg(variable, fallback):
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def state_root():
    explicit = os.environ.get("LVS_LAB_STATE_DIR")
    return Path(explicit) if explicit else _xdg("XDG_STATE_HOME", ".local/state") / "lvs-lab"


def cache_root():
    explicit = os.environ.get("LVS_LAB_CACHE_DIR")
    return Path(explicit) if explicit else _xdg("XDG_CACHE_HOME", ".cache") / "lvs-lab"


def lab_dir(name):
    return state_root() / name


def inventory_path(name):
    return lab_dir(name) / "inventory.yml"


def namespace_name(name):
    return NAMESPACE_PREFIX + name


def controller_key():
    """The SSH key pair the controller uses for every lab guest (made on first use)."""
    return state_root() / "id_ed25519"
