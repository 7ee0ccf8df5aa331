"""pyroute2 on the directors lives in the director role's virtual environment, not in the system Python.

The lab image has no pyroute2 (tools/lvs_lab/image.py); the lab's inventory sets lvs_director_pyroute2_source:
wheel, so the role made the venv (lvs_director_python_venv) and installed the controller's wheel into it. The
static engine's table was programmed by lvs.cluster.ipvs through the venv's python; here lvs.cluster.ipvs_info
reads the table through it as well, and the system Python's failure names what to do.
"""
import glob
import os
import re

import testinfra.utils.ansible_runner
import yaml

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("directors")
ROOT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
with open(os.path.join(ROOT, "roles/director/defaults/main.yml")) as _handle:
    VENV = yaml.safe_load(_handle)["lvs_director_python_venv"]
# lvs_director_ipvs_python for the wheel source (tests/unit/roles/test_director_pyroute2.py renders the default).
PYTHON = VENV + "/bin/python3"
WHEEL = sorted(glob.glob(os.path.join(ROOT, ".venv/wheels/pyroute2-*.whl")))[-1]
WHEEL_VERSION = re.match(r"pyroute2-([^-]+)-", os.path.basename(WHEEL)).group(1)


def test_the_system_python_has_no_pyroute2(host):
    result = host.run("/usr/bin/python3 -c 'import pyroute2'")
    assert result.rc != 0
    assert "ModuleNotFoundError: No module named 'pyroute2'" in result.stderr


def test_the_venv_python_has_the_wheels_pyroute2(host):
    result = host.run("%s -c 'import sys, pyroute2, importlib.metadata as m; "
                      "print(m.version(\"pyroute2\"), sys.prefix, pyroute2.__file__)'" % PYTHON)
    assert result.rc == 0, result.stderr
    version, prefix, location = result.stdout.split()
    assert version == WHEEL_VERSION
    assert prefix == VENV
    assert location.startswith(VENV + "/lib/")


def test_the_venv_is_roots_0755_without_system_site_packages(host):
    venv = host.file(VENV)
    assert venv.is_directory
    assert (venv.user, venv.group, venv.mode) == ("root", "root", 0o755)
    config = host.file(VENV + "/pyvenv.cfg").content_string
    assert re.search(r"(?m)^include-system-site-packages = false\s*$", config), config


def test_ipvs_info_reads_the_table_with_the_venv_python(host):
    result = host.ansible("lvs.cluster.ipvs_info", "gather=services", check=False,
                          extra_vars={"ansible_python_interpreter": PYTHON})
    assert not result.get("failed"), result
    # As many services as ipvsadm (the independent oracle) lists; director1 holds the lab model's five.
    oracle = [line for line in host.check_output("ipvsadm -Sn").splitlines() if line.startswith("-A ")]
    assert len(result["services"]) == len(oracle), (result["services"], oracle)
    if host.backend.get_hostname() == "director1":
        assert len(oracle) == 5, oracle


def test_ipvs_info_with_the_system_python_names_the_interpreter(host):
    result = host.ansible("lvs.cluster.ipvs_info", "gather=services", check=False,
                          extra_vars={"ansible_python_interpreter": "/usr/bin/python3"})
    # ansible --tree (testinfra) stores the module's own result, without Ansible's "failed" key: no table read.
    assert "services" not in result, result
    assert "pyroute2>=0.9.1" in result["msg"]
    assert "This module ran with the Python interpreter /usr/bin/python3." in result["msg"]
    assert "lvs_director_ipvs_python" in result["msg"]
