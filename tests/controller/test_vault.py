"""Ansible Vault in the inventories (issue 13).

The example inventory's secrets are in a vault-encrypted file, read through the vault client script
(tools/vault-client.sh) from a password file outside the repository; the lab's scenario secrets through the lab
client (tools/lab-vault-client.sh). Here ansible itself decrypts them and resolves the plain variables that
name them, and the client refuses password files that are readable by others or inside a git work tree.
"""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = ROOT / ".venv/bin/ansible"
# Public on purpose (README.md, "Secrets and Ansible Vault"): the example's vault protects example values only.
EXAMPLE_PASSWORD = "lvs-example-vault-password"


def vault_files():
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--cached", "--others", "--exclude-standard"], stdout=subprocess.PIPE, check=True,
                            universal_newlines=True).stdout.split()
    return [ROOT / name for name in listed if Path(name).name.startswith("vault") and name.endswith(".yml")]


def test_every_committed_vault_file_is_encrypted():
    files = vault_files()
    assert ROOT / "inventory/example/group_vars/all/vault.yml" in files
    assert ROOT / "molecule/storage_gfs2/group_vars/all/vault.yml" in files
    for path in files:
        assert path.read_text().startswith("$ANSIBLE_VAULT;1.2;AES256;"), "%s is not vault-encrypted" % path


def resolve(variable, *args, env=None):
    result = subprocess.run(
        [str(ANSIBLE), "rs1", "-c", "local", "-m", "ansible.builtin.debug", "-a", "var=" + variable] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120, check=False,
        cwd=str(ROOT), env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), **(env or {})))
    return result.returncode, result.stdout


@pytest.fixture
def password_file(tmp_path):
    path = tmp_path / "vault-lvs.pass"
    path.write_text(EXAMPLE_PASSWORD + "\n")
    path.chmod(0o600)
    return path


def test_example_inventory_reads_its_secrets_from_the_vault(password_file):
    rc, output = resolve("lvs_storage_iscsi_chap_password", "-i", "inventory/example",
                         "--vault-id", "lvs@tools/vault-client.sh", env={"LVS_VAULT_PASSWORD_FILE": str(password_file)})
    assert rc == 0, output
    assert "lvs_storage_iscsi_chap_password: example-chap-secret-change-me" in output, output


def test_vault_client_refuses_a_password_file_others_can_read(password_file):
    password_file.chmod(0o644)
    rc, output = resolve("lvs_storage_iscsi_chap_password", "-i", "inventory/example",
                         "--vault-id", "lvs@tools/vault-client.sh", env={"LVS_VAULT_PASSWORD_FILE": str(password_file)})
    assert rc != 0 and "has mode 644; make it 0600" in output, output
    assert "example-chap-secret-change-me" not in output


def test_vault_client_refuses_a_password_file_inside_a_git_work_tree(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inside = tmp_path / "vault-lvs.pass"
    inside.write_text(EXAMPLE_PASSWORD + "\n")
    inside.chmod(0o600)
    result = subprocess.run([str(ROOT / "tools/vault-client.sh"), "--vault-id", "lvs"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, check=False,
                            env=dict(os.environ, LVS_VAULT_PASSWORD_FILE=str(inside)))
    assert result.returncode != 0 and "inside a git work tree" in result.stderr, result.stderr
    assert result.stdout == ""


def test_vault_client_without_a_password_file_says_where_it_looked(tmp_path):
    result = subprocess.run([str(ROOT / "tools/vault-client.sh"), "--vault-id", "prod"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, check=False,
                            env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), LVS_VAULT_PASSWORD_FILE=""))
    assert result.returncode == 1 and str(tmp_path / "lvs-cluster/vault-prod.pass") in result.stderr, result.stderr


def test_lab_scenario_secret_comes_out_of_the_lab_vault():
    """The lab client needs no input: Molecule's storage_gfs2 reads its CHAP secret the same way."""
    scenario = ROOT / "molecule/storage_gfs2/group_vars/all"
    result = subprocess.run(
        [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local", "-m", "ansible.builtin.debug", "-a",
         "var=lvs_storage_iscsi_chap_password", "-e", "@%s" % (scenario / "storage.yml"),
         "-e", "@%s" % (scenario / "vault.yml"), "--vault-id", "lab@tools/lab-vault-client.sh"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120, check=False,
        cwd=str(ROOT), env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
    assert result.returncode == 0, result.stdout
    assert "lvs_storage_iscsi_chap_password: lab-only-chap-secret-6" in result.stdout, result.stdout
