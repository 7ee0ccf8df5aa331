"""Stand-in for ansible-test's get-pip bootstrap script (its download host is unreachable here; see run-sanity.sh).

Bootstraps pip from the interpreter's own ensurepip, then runs `pip install` with the arguments ansible-test
passes (which pin pip itself, fetched from PyPI). get-pip.py's own options (--no-setuptools, --no-wheel) are
dropped; ensurepip's setuptools is removed again when --no-setuptools is given.
"""
import subprocess
import sys

own = {"--no-setuptools", "--no-wheel"}
args = [arg for arg in sys.argv[1:] if arg not in own]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
rc = subprocess.call([sys.executable, "-m", "pip", "install"] + args)
if rc == 0 and "--no-setuptools" in sys.argv:
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "-y", "-q", "setuptools"])
sys.exit(rc)
