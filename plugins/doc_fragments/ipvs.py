# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    """What the IPVS modules share in their documentation."""

    # Every IPVS module: author and requirements (ansible-doc wants options or attributes in a fragment).
    DOCUMENTATION = r"""
options: {}
author:
  - lvs.cluster maintainers (!UNKNOWN)
requirements:
  - pyroute2 >= 0.9.1 on the managed host (C(pip install "pyroute2>=0.9.1"); the python3-pyroute2 packages of
    Debian 12 and 13 are too old).
  - The C(ip_vs) kernel module loaded on the managed host, or O(load_modules=true).
"""

    # The modules that change IPVS; each adds the C(details) of its own check and diff mode.
    WRITE = r"""
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change.
    support: full
"""
