"""Local stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from a host our machines cannot reach. This stand-in is placed
in ansible-test's cache by tests/bin/bootstrap beside a pip wheel downloaded from PyPI; it
installs the requested packages with that wheel, as get-pip.py does with its embedded copy.
"""

from __future__ import annotations

import glob
import os
import sys


def main() -> int:
    """Install the packages named on the command line with the cached pip wheel."""
    here, name = os.path.split(os.path.abspath(__file__))
    # This file is installed as get_pip_<major>_<minor>.py, the name ansible-test looks for.
    version = os.path.splitext(name)[0][len("get_pip_"):].replace("_", ".")
    wheels = glob.glob(os.path.join(here, "pip-%s-*.whl" % version))
    if not wheels:
        sys.stderr.write("get-pip stand-in: no pip %s wheel in %s; re-run tests/bin/bootstrap\n" % (version, here))
        return 1
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    # get-pip.py consumes these two flags itself; pip would reject them.
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    return pip_main(["install", "--upgrade", "--force-reinstall", "--no-cache-dir"] + args)


if __name__ == "__main__":
    sys.exit(main())
