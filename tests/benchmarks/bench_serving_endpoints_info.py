"""How long serving_endpoints_info's logic takes to list 100 / 1000 / 5000 endpoints.

Not a test: it prints a table. It runs the module's own functions (reachability check, SDK client,
paginated listing, shaping, name filter, sorting, validation of four roles) with the real
databricks-sdk against the workspace double on loopback, once with the whole list in one answer
and once paginated by the server.

    source ~/.cache/fmapi-coding-agents/env.sh
    python tests/benchmarks/bench_serving_endpoints_info.py [--sizes 100 1000 5000] [--page-size 100]
        [--repeat 3] [--latency-ms 0]

``--latency-ms`` adds server latency per request (e.g. 50 for a workspace across the internet).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _make_importable(scratch: str) -> None:
    """Put the checkout on sys.path as ansible_collections.fmapi.coding_agents, and the harness too."""
    namespace = os.path.join(scratch, "ansible_collections", "fmapi")
    os.makedirs(namespace)
    os.symlink(ROOT, os.path.join(namespace, "coding_agents"))
    sys.path[:0] = [scratch, os.path.join(ROOT, "tests", "harness")]


def _endpoints(count: int) -> list:
    """``count`` endpoints: a few Claude ones among many others, as a large workspace would have."""
    claude = ["databricks-claude-opus-4-6", "databricks-claude-sonnet-4-6", "databricks-claude-haiku-4-5"]
    others = ["team-%02d-model-%05d" % (number % 40, number) for number in range(max(0, count - len(claude)))]
    return [{"name": name, "task": "llm/v1/chat"} for name in claude + others][:count]


def _one_run(module, sdk, access) -> dict:
    """Everything the module does between its options and exit_json; returns timings."""
    started = time.perf_counter()
    with sdk.isolated_environment(access.ca_file):
        sdk.check_reachable(access)
        client = sdk.build_workspace_client(access)
        connected = time.perf_counter()
        raw = module.list_all_endpoints(client.api_client)
    listed = time.perf_counter()
    every = [module.compact_endpoint(item) for item in raw]
    selected = module.sort_by_name(module.filter_by_pattern(every, "databricks-claude-*"))
    validation = module.validate_models({"model": "databricks-claude-sonnet-4-6", "opus": "databricks-claude-opus-4-6",
                                         "haiku": "databricks-claude-haiku-4-5", "sonnet": ""}, every, access.host)
    finished = time.perf_counter()
    assert len(every) == len(raw) and len(selected) == min(3, len(raw))
    assert [entry["status"] for entry in validation] == ["PASS", "PASS", "PASS", "SKIP"]
    return {"count": len(every), "setup": connected - started, "list": listed - connected,
            "shape": finished - listed, "total": finished - started}


def _request_floor(module, sdk, access, name: str) -> float:
    """Median time of one tiny GET through the SDK: the fixed cost every page pays on this server."""
    with sdk.isolated_environment(access.ca_file):
        api_client = sdk.build_workspace_client(access).api_client
        times = []
        for _attempt in range(7):
            started = time.perf_counter()
            module.get_endpoints_by_name(api_client, [name])
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--page-size", type=int, default=100, help="server page size of the paginated runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; the median is shown")
    parser.add_argument("--latency-ms", type=int, default=0, help="server latency added to every request")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-serving-endpoints-") as scratch:
        _make_importable(scratch)
        # pylint: disable=import-outside-toplevel
        from ansible_collections.fmapi.coding_agents.plugins.module_utils import _databricks_sdk as sdk
        from ansible_collections.fmapi.coding_agents.plugins.modules import serving_endpoints_info as module
        from workspace_double import WorkspaceDouble

        double = WorkspaceDouble(os.path.join(scratch, "double"), state_file=None).start()
        try:
            token = double.control.issue_access_token(ttl_seconds=24 * 3600)
            access = sdk.resolve_access({"host": double.url, "token": token, "ca_file": double.ca_file,
                                         "timeout": 20, "retry_timeout": 30})
            print("serving_endpoints_info listing against the workspace double (%s, databricks-sdk %s, "
                  "latency %d ms/request, median of %d runs)"
                  % (double.url, sdk.SDK_VERSION, options.latency_ms, options.repeat))
            header = "%9s  %-12s %8s  %10s  %10s  %10s  %10s  %10s  %12s" % (
                "endpoints", "server", "requests", "setup s", "list s", "(server s)", "shape ms", "total s",
                "endpoints/s")
            print(header)
            print("-" * len(header))
            for size in options.sizes:
                for page_size in (None, options.page_size):
                    double.control.reset(endpoints=_endpoints(size), page_size=page_size,
                                         latency_ms=options.latency_ms)
                    token = double.control.issue_access_token(ttl_seconds=24 * 3600)
                    access.token = token
                    runs = []
                    for _attempt in range(options.repeat):
                        double.control.clear_requests()
                        run = _one_run(module, sdk, access)
                        log = double.control.requests("/api/2.0/serving-endpoints")
                        run["requests"] = len(log)
                        run["server"] = sum(entry["duration_ms"] for entry in log) / 1000.0
                        runs.append(run)
                    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
                    server = "one answer" if page_size is None else "pages of %d" % page_size
                    print("%9d  %-12s %8d  %10.3f  %10.3f  %10.3f  %10.1f  %10.3f  %12.0f" % (
                        size, server, median["requests"], median["setup"], median["list"], median["server"],
                        median["shape"] * 1000, median["total"], size / median["total"]))
            double.control.reset(endpoints=_endpoints(3))
            access.token = double.control.issue_access_token(ttl_seconds=24 * 3600)
            floor = _request_floor(module, sdk, access, "databricks-claude-opus-4-6")
            print("setup: reachability check + client; list: all GETs (server: the double's own time for them, "
                  "summed from its request log); shape: compact shape, glob filter, sort and validation.")
            print("One tiny GET through the SDK takes %.1f ms on this server: that fixed cost per page is what "
                  "pagination multiplies." % (floor * 1000))
        finally:
            double.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
