"""Command line of the workspace double.

``python -m workspace_double serve --state-dir DIR [--host 127.0.0.1] [--port 0]
[--scenario FILE.json|.yaml] [--mirror-dir DIR] [--no-ai-gateway]``
    Create/reuse the CA and server certificate in DIR, listen, write
    ``DIR/double.json`` (``{"url", "ca_file", "pid", ...}``) atomically and
    print the same JSON on one stdout line; run until SIGTERM/SIGINT.

``python -m workspace_double mirror --state-dir DIR --dir FILES [--host] [--port]``
    Serve FILES read-only at ``/`` over HTTPS with the same CA; writes
    ``DIR/mirror.json``.

``python -m workspace_double browser URL``
    Fake ``BROWSER`` for ``databricks auth login`` (the sh script
    ``tests/harness/bin/fake-browser`` does the same with curl).

``python -m workspace_double token --state-dir DIR``
    Print a fresh access token minted by the running double (handy as an
    ``apiKeyHelper`` in smoke tests).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

from . import browser
from .control import DoubleClient


def _load_scenario(path: str | None) -> dict | None:
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml  # pylint: disable=import-outside-toplevel
        except ImportError as exc:
            raise SystemExit(f"PyYAML is needed to read {path}; use JSON instead") from exc
        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise SystemExit(f"{path}: a scenario must be a mapping")
    return data


def _run(double) -> int:
    def stop(signum, _frame):
        logging.getLogger("workspace_double").info("signal %s: shutting down", signum)
        double.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    double.start()
    print(json.dumps(double.info()), flush=True)
    double.wait()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen sub-command."""
    parser = argparse.ArgumentParser(prog="python -m workspace_double", description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the workspace double")
    serve.add_argument("--state-dir", required=True, help="directory for certificates and double.json")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--scenario", help="JSON or YAML file with scenario changes")
    serve.add_argument("--mirror-dir", help="also serve this directory read-only under /mirror/")
    serve.add_argument("--no-ai-gateway", dest="ai_gateway", action="store_false", default=None,
                       help="a workspace without AI Gateway v2 (/ai-gateway/... and its API answer 404)")

    mirror = commands.add_parser("mirror", help="serve a directory read-only over HTTPS")
    mirror.add_argument("--state-dir", required=True, help="directory for certificates and mirror.json")
    mirror.add_argument("--dir", required=True, help="directory to serve at /")
    mirror.add_argument("--host", default="127.0.0.1")
    mirror.add_argument("--port", type=int, default=0)

    fake_browser = commands.add_parser("browser", help="fake BROWSER for databricks auth login")
    fake_browser.add_argument("args", nargs="+", metavar="URL")

    token = commands.add_parser("token", help="print an access token minted by a running double")
    token.add_argument("--state-dir", required=True)
    token.add_argument("--ttl-seconds", type=int)

    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=max(level, logging.DEBUG), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    if args.command in ("serve", "mirror"):
        # Imported here: only the server needs ``cryptography``.
        from .server import STATE_FILE, WorkspaceDouble  # pylint: disable=import-outside-toplevel
    if args.command == "serve":
        return _run(WorkspaceDouble(args.state_dir, args.host, args.port, _load_scenario(args.scenario),
                                    mirror_dir=args.mirror_dir, state_file=STATE_FILE, ai_gateway=args.ai_gateway))
    if args.command == "mirror":
        return _run(WorkspaceDouble(args.state_dir, args.host, args.port, mirror_dir=args.dir,
                                    mirror_only=True, state_file="mirror.json"))
    if args.command == "browser":
        return browser.main(args.args)
    print(DoubleClient.from_state_dir(args.state_dir).issue_access_token(args.ttl_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
