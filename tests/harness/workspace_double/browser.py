"""Python equivalent of ``tests/harness/bin/fake-browser``.

``python -m workspace_double browser URL`` follows the authorize URL to the
Databricks CLI's localhost callback.  The shell script is preferred (it only
needs curl); this variant exists for machines without curl.

The callback is delivered from a detached child process because the CLI
only completes its callback response after the browser command has exited.
"""

from __future__ import annotations

import http.client
import os
import ssl
import subprocess
import sys
from urllib.parse import urlsplit

USER_AGENT = "workspace-double-fake-browser/1.0 (Python)"


def _ca_file() -> str | None:
    return os.environ.get("FMAPI_DOUBLE_CA") or os.environ.get("SSL_CERT_FILE") or None


def authorize(url: str, timeout: float = 30.0) -> str:
    """GET the authorize URL without following redirects; return the Location.

    Raises ``RuntimeError`` when the answer is not a redirect to loopback.
    """
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise RuntimeError(f"refusing non-HTTPS authorize URL: {url}")
    context = ssl.create_default_context(cafile=_ca_file())
    connection = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=timeout, context=context)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={"User-Agent": USER_AGENT})
        response = connection.getresponse()
        response.read()
        location = response.getheader("Location") or ""
        status = response.status
    finally:
        connection.close()
    if status not in (301, 302, 303, 307, 308):
        raise RuntimeError(f"authorize answered HTTP {status} instead of a redirect")
    if urlsplit(location).hostname not in ("localhost", "127.0.0.1") or not location.startswith("http://"):
        raise RuntimeError(f"unexpected redirect target: {location}")
    return location


def deliver(location: str, timeout: float = 30.0) -> None:
    """Request the callback URL (run in the detached child)."""
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                           headers={"User-Agent": USER_AGENT})
        connection.getresponse().read()
    finally:
        connection.close()


def main(argv: list[str]) -> int:
    """Entry point: ``browser URL`` (or ``browser --deliver CALLBACK_URL``)."""
    if len(argv) == 2 and argv[0] == "--deliver":
        try:
            deliver(argv[1])
        except OSError as exc:
            print(f"fake-browser: callback failed: {exc}", file=sys.stderr)
            return 1
        return 0
    if len(argv) != 1:
        print("usage: python -m workspace_double browser AUTHORIZE_URL", file=sys.stderr)
        return 2
    try:
        location = authorize(argv[0])
    except (OSError, RuntimeError) as exc:
        print(f"fake-browser: {exc}", file=sys.stderr)
        return 1
    # Detach: the CLI finishes its callback response only after we exit.
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    log_path = os.environ.get("FAKE_BROWSER_LOG") or os.devnull
    with open(log_path, "ab") as log:
        subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "workspace_double.browser", "--deliver", location],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, env=env,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
