"""Every lab guest runs the User-Mode Linux kernel and has IPVS available."""
import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("all")


def test_runs_the_user_mode_linux_kernel(host):
    assert host.check_output("uname -r").startswith("6.1.")
    # UML names itself as the CPU vendor (arch/um/kernel/um_arch.c) and reports its host kernel.
    cpuinfo = host.file("/proc/cpuinfo").content_string
    assert "vendor_id\t: User Mode Linux" in cpuinfo
    assert "mode\t\t: skas" in cpuinfo


def test_ip_vs_is_loaded_and_answers(host):
    assert host.file("/proc/net/ip_vs").exists
    assert "ip_vs" in host.check_output("lsmod")
    # The kernel's own IPVS table is reachable (ipvsadm is the independent oracle, not what the modules use).
    assert "IP Virtual Server version 1.2.1" in host.check_output("ipvsadm -Ln")


def test_ip_vs_loads_at_boot(host):
    assert host.file("/etc/modules-load.d/ip_vs.conf").contains("^ip_vs$")


def test_converged_marker_and_hostname(host):
    assert host.file("/etc/lvslab/converged").contains("molecule scenario default")
    assert host.check_output("hostname") == host.backend.get_hostname()
