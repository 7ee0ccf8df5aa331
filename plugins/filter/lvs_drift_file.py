# -*- coding: utf-8 -*-
# Copyright: (c) 2025, lvs.cluster maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: lvs_drift_file
short_description: Drift lines for a configuration file from a template task run in check mode
version_added: 0.1.0
author:
  - lvs.cluster maintainers (!UNKNOWN)
description:
  - Takes the registered result of C(ansible.builtin.template) run in check mode (with C(diff) when the file holds
    no secret) and returns one line per changed block, at most O(context) of them, reading
    C(HOST PATH line N) then a colon and C(wanted 'RENDERED', found 'ON DISK').
  - With O(secret), the line says only that the file differs, never its content (register the task with
    C(no_log) and C(diff=false) then).
positional: _input, host, path
options:
  _input:
    description: The registered result of the template task.
    type: dict
    required: true
  host:
    description: The host's name, the first word of each line.
    type: str
    required: true
  path:
    description: The file's path.
    type: str
    required: true
  secret:
    description: The file holds a secret; say only that it differs.
    type: bool
    default: false
  context:
    description: At most this many differences are listed.
    type: int
    default: 3
"""

EXAMPLES = r"""
- name: Render keepalived.conf without writing it
  ansible.builtin.template:
    src: keepalived.conf.j2
    dest: /etc/keepalived/keepalived.conf
    mode: "0600"
  check_mode: true
  diff: true
  register: rendered

- name: Say what differs
  ansible.builtin.debug:
    msg: "{{ rendered | lvs.cluster.lvs_drift_file(inventory_hostname, '/etc/keepalived/keepalived.conf') }}"
"""

RETURN = r"""
_value:
  description: One line per difference, empty when the file is as rendered.
  type: list
  elements: str
  sample: ["director2 /etc/keepalived/keepalived.conf line 90: wanted 'priority 100', found 'priority 120'"]
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils._lvs_drift import file_drift


def lvs_drift_file(result, host, path, secret=False, context=3):
    """A check-mode template result -> drift lines."""
    try:
        return file_drift(host, path, result, secret=secret, context=int(context))
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise AnsibleFilterError("lvs.cluster.lvs_drift_file: %s" % exc) from None


class FilterModule(object):
    """lvs.cluster.lvs_drift_file"""

    def filters(self):
        return {"lvs_drift_file": lvs_drift_file}
