"""The collection as a user gets it from Galaxy: its artifact installed with its declared dependencies only.

The collection is built from this checkout into a tarball (what ``ansible-galaxy collection publish`` would
upload) and installed with ``ansible-galaxy collection install --offline`` into an empty collections path. Its
dependencies are resolved the way Galaxy would resolve them, from the ``dependencies`` of the artifact's
MANIFEST.json (that is, galaxy.yml), but from local sources instead of a server: the copies of those collections
that the ``ansible`` package bundles in the virtualenv (no network). ansible-galaxy itself checks that each copy's
version satisfies the declared range.

Then, from an unrelated temporary directory, with the environment's ANSIBLE_* variables removed, an empty
ansible.cfg, ANSIBLE_COLLECTIONS_PATH set to that path alone and ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false (so the
virtualenv's bundled collections are not seen):

- ``ansible-playbook lvs.cluster.site --syntax-check``;
- a syntax check of a playbook importing every task file of every role statically (``import_role`` with
  ``tasks_from``): site.yml includes its roles dynamically, which a syntax check does not load, so only this
  resolves every module and action the roles call.

A control installs the collection without its dependencies the same way and shows that the second check then
fails on the collections it lacks: the check can fail, and the bundled copies are indeed out of reach.
"""
import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv/bin"
ANSIBLE_GALAXY = str(VENV_BIN / "ansible-galaxy")
ANSIBLE_PLAYBOOK = str(VENV_BIN / "ansible-playbook")
ANSIBLE_CONFIG_CMD = str(VENV_BIN / "ansible-config")


def run(command, cwd, env, check=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check:
        assert result.returncode == 0, "%s\n%s\n%s" % (" ".join(command), result.stdout[-4000:],
                                                       result.stderr[-4000:])
    return result


def clean_env(workdir, collections_path):
    """The environment of a user with nothing but this collections path: no ANSIBLE_* of ours (make exports
    ANSIBLE_CONFIG, pointing at the repository's ansible.cfg and ./build), an empty ansible.cfg."""
    env = dict((key, value) for key, value in os.environ.items() if not key.startswith("ANSIBLE_"))
    config = workdir / "ansible.cfg"
    config.write_text("[defaults]\n")
    env.update(
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_ROLES_PATH=str(workdir / "no-roles"),
        ANSIBLE_LOCAL_TEMP=str(workdir / "tmp"),
        PATH="%s:%s" % (VENV_BIN, env.get("PATH", "/usr/bin:/bin")),
    )
    return env


def bundled_collections_dir():
    """site-packages/ansible_collections of the virtualenv's Python (where the ansible package puts its copies)."""
    purelib = subprocess.run([str(VENV_BIN / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    path = Path(purelib) / "ansible_collections"
    assert path.is_dir(), path
    return path


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """The collection built from the checkout: (tarball path, the collection_info of its MANIFEST.json)."""
    out = tmp_path_factory.mktemp("dist")
    env = clean_env(out, out / "none")
    run([ANSIBLE_GALAXY, "collection", "build", "--output-path", str(out), str(ROOT)], cwd=out, env=env)
    tarballs = sorted(out.glob("lvs-cluster-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    with tarfile.open(tarballs[0]) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    return tarballs[0], manifest["collection_info"]


def roles_import_playbook(collection_dir):
    """A play importing every task file of every role of the installed collection (static, so a syntax check
    loads each task and resolves its module or action)."""
    tasks = []
    for tasks_file in sorted((collection_dir / "roles").glob("*/tasks/*.yml")):
        role = tasks_file.parent.parent.name
        tasks.append({"name": "%s %s" % (role, tasks_file.name),
                      "ansible.builtin.import_role": {"name": "lvs.cluster." + role,
                                                      "tasks_from": tasks_file.name}})
    assert len(tasks) >= 10, tasks
    return yaml.safe_dump([{"name": "Every task file of every role", "hosts": "localhost",
                            "gather_facts": False, "tasks": tasks}], sort_keys=False)


def install(workdir, tarball, dependencies):
    """Install the tarball (and the given {name: local directory} dependency sources) into an empty path."""
    collections = workdir / "collections"
    assert not collections.exists()
    collections.mkdir()
    requirements = [{"name": str(tarball), "type": "file"}]
    requirements += [{"name": str(source), "type": "dir"} for source in dependencies.values()]
    (workdir / "requirements.yml").write_text(yaml.safe_dump({"collections": requirements}))
    env = clean_env(workdir, collections)
    command = [ANSIBLE_GALAXY, "collection", "install", "--offline", "-r", str(workdir / "requirements.yml"),
               "-p", str(collections)]
    if not dependencies:
        command.insert(3, "--no-deps")
    run(command, cwd=workdir, env=env)
    return collections, env


def installed_collections(collections):
    return sorted("%s.%s" % (path.parent.name, path.name)
                  for path in (collections / "ansible_collections").glob("*/*") if (path / "MANIFEST.json").is_file())


@pytest.fixture(scope="module")
def installed(artifact, tmp_path_factory):
    """The artifact with its declared dependencies, installed into an empty path; run from an unrelated folder."""
    tarball, info = artifact
    bundled = bundled_collections_dir()
    sources = {}
    for name in info["dependencies"]:
        namespace, collection = name.split(".")
        sources[name] = bundled / namespace / collection
        assert (sources[name] / "MANIFEST.json").is_file(), "%s is not bundled in the virtualenv" % name
    workdir = tmp_path_factory.mktemp("galaxy-install")
    collections, env = install(workdir, tarball, sources)
    unrelated = tmp_path_factory.mktemp("unrelated")
    return collections, clean_env(unrelated, collections), unrelated, info


def test_the_manifest_declares_the_tested_dependencies(artifact):
    """galaxy.yml's dependencies reach the artifact, and each range admits the version the ansible package bundles
    (ansible-galaxy checks that again when it installs)."""
    _, info = artifact
    assert set(info["dependencies"]) >= {"community.general", "ansible.posix"}, info["dependencies"]
    for value in ("repository", "documentation", "issues", "homepage"):
        assert not (info.get(value) or "").startswith("https://example"), (value, info.get(value))


def test_the_artifact_leaves_out_what_needs_the_repository(artifact):
    tarball, _ = artifact
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for prefix in ("molecule/", "tools/", "bench/", "tests/controller/", ".venv/", "build/", "ansible.cfg",
                   "Makefile", "tests/unit/plugins/filter/test_lvs_views_on_lab_inventory.py"):
        assert not [name for name in names if name == prefix or name.startswith(prefix)], prefix
    for needed in ("roles/director/tasks/main.yml", "playbooks/site.yml", "plugins/modules/ipvs.py",
                   "meta/runtime.yml", "README.md", "tests/unit/conftest.py"):
        assert needed in names, needed


def test_ansible_reads_only_the_empty_path(installed):
    collections, env, unrelated, info = installed
    dump = json.loads(run([ANSIBLE_CONFIG_CMD, "dump", "--format", "json"], cwd=unrelated, env=env).stdout)
    settings = dict((item["name"], item["value"]) for item in dump if "name" in item)
    assert settings["COLLECTIONS_PATHS"] == [str(collections)]
    assert settings["COLLECTIONS_SCAN_SYS_PATH"] is False
    assert installed_collections(collections) == sorted(["lvs.cluster"] + list(info["dependencies"]))


def test_site_playbook_syntax_check(installed):
    collections, env, unrelated, _ = installed
    result = run([ANSIBLE_PLAYBOOK, "lvs.cluster.site", "--syntax-check"], cwd=unrelated, env=env)
    # The playbook resolved is the installed copy.
    assert "playbook: %s" % (collections / "ansible_collections/lvs/cluster/playbooks/site.yml") in result.stdout


def test_every_role_task_file_resolves(installed):
    collections, env, unrelated, _ = installed
    playbook = unrelated / "roles.yml"
    playbook.write_text(roles_import_playbook(collections / "ansible_collections/lvs/cluster"))
    run([ANSIBLE_PLAYBOOK, str(playbook), "--syntax-check"], cwd=unrelated, env=env)


def test_without_the_dependencies_the_check_fails(artifact, tmp_path_factory):
    """The control: the same check on the collection installed without its dependencies fails, naming a
    collection it lacks (so the virtualenv's bundled copies are not what resolved the modules above)."""
    tarball, info = artifact
    workdir = tmp_path_factory.mktemp("no-deps")
    collections, env = install(workdir, tarball, {})
    assert installed_collections(collections) == ["lvs.cluster"]
    unrelated = tmp_path_factory.mktemp("unrelated-no-deps")
    env = clean_env(unrelated, collections)
    playbook = unrelated / "roles.yml"
    playbook.write_text(roles_import_playbook(collections / "ansible_collections/lvs/cluster"))
    result = run([ANSIBLE_PLAYBOOK, str(playbook), "--syntax-check"], cwd=unrelated, env=env, check=False)
    assert result.returncode != 0, result.stdout
    output = result.stdout + result.stderr
    assert "couldn't resolve module/action" in output, output[-3000:]
    assert any(name in output for name in info["dependencies"]), output[-3000:]
