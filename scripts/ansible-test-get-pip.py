"""Offline stand-in for the get-pip.py that ansible-test downloads.

ansible-test bootstraps pip in each sanity venv from a script it fetches from
a host this machine cannot reach; it first looks for a cached copy in
~/.ansible/test/cache/get_pip_<version>.py. scripts/sanity.sh puts this file
there. It is run as __main__ inside the new venv with pip's install options
and the wanted packages (e.g. pip==24.2) as arguments: install pip with
ensurepip, then let that pip install the requested version from the
reachable package index.
"""

import os
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main():
    args = [a for a in sys.argv[1:] if a not in GET_PIP_ONLY_OPTIONS]
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True,
                   stdout=subprocess.DEVNULL)
    # ensurepip isolates itself with PIP_CONFIG_FILE=/dev/null; the real
    # install must see the machine's pip configuration (index, certificates).
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE"}
    subprocess.run([sys.executable, "-m", "pip", "install"] + args, check=True, env=env)


if __name__ == "__main__":
    main()
