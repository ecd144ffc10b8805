"""The benchmark's plot: ``python plot.py bench.json OUTPUT_DIR`` writes OUTPUT_DIR/bench.png and prints its path.

Runs in the benchmark's own venv (matplotlib, tests/benchmarks/requirements.txt), apart from Ansible's.
Left: the fleet (part 4), total wall time of the first configuration and the re-run against the number of laptops
(log-log); middle: the same per laptop, with the controller's CPU per laptop (log x). Right: part 1's bars, our
setup (first configuration, re-run) beside the original script (first setup, --reinstall), on one laptop.
"""

from __future__ import annotations

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  pylint: disable=wrong-import-position


def fleet_series(part: dict):
    """(setting, phase, [(size, run)]) of every line: runs whose first configuration was cloned are left out."""
    sizes = sorted(part.get("sizes", {}), key=int)
    settings = []
    for size in sizes:
        for setting in part["sizes"][size]:
            if setting not in settings:
                settings.append(setting)
    for index, setting in enumerate(settings):
        for phase in ("first", "rerun", "quick"):
            points = [(int(size), part["sizes"][size][setting][phase]) for size in sizes
                      if setting in part["sizes"][size] and phase in part["sizes"][size][setting]
                      and not part["sizes"][size][setting][phase].get("cloned_to")]
            if points:
                yield index, setting, phase, points


def fleet_panels(total_axis, per_host_axis, part: dict) -> None:
    styles = ["-", "--", ":", "-."]
    for index, setting, phase, points in fleet_series(part):
        label = "%s, %s" % ({"first": "first configuration", "rerun": "re-run",
                             "quick": "quick re-run (fast_rerun)"}[phase], setting)
        style = {"linestyle": styles[index % len(styles)], "marker": {"first": "o", "rerun": "s", "quick": "D"}[phase],
                 "color": "C%d" % (3 * index + ("first", "rerun", "quick").index(phase))}
        sizes = [size for size, _run in points]
        total_axis.plot(sizes, [run["seconds"] for _size, run in points], label=label, **style)
        per_host_axis.plot(sizes, [run["per_host_seconds"] for _size, run in points], label="wall: " + label, **style)
        if phase != "first":
            per_host_axis.plot(sizes, [run.get("controller_cpu_per_host") for _size, run in points], alpha=0.5,
                               linestyle=style["linestyle"], marker="^", color=style["color"],
                               label="controller CPU: " + label)
    for axis in (total_axis, per_host_axis):
        axis.set_xscale("log")
        axis.set_xlabel("laptops in one ansible-playbook run (log)")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="upper left")
    total_axis.set_yscale("log")
    total_axis.set_ylabel("total wall time (s, log)")
    total_axis.set_title("The fleet: one run over SSH from one controller")
    per_host_axis.set_ylabel("seconds per laptop")
    per_host_axis.set_ylim(bottom=0)
    per_host_axis.set_title("Per laptop: wall time / laptops, and controller CPU")


def setup_panel(axis, part: dict) -> None:
    labels, values, colours = [], [], []
    for phase, label in (("first", "ours:\nfirst"), ("rerun", "ours:\nre-run"), ("quick", "ours:\nquick re-run")):
        if phase not in part["ours"]:  # a run from before fast_rerun
            continue
        labels.append(label)
        values.append(part["ours"][phase]["seconds"])
        colours.append("C0")
    original = part.get("original", {})
    if "rerun" in original:
        labels += ["script:\nfirst", "script:\n--reinstall"]
        values += [original["first"]["seconds"], original["rerun"]["seconds"]]
        colours += ["C1", "C1"]
    for rectangle, value in zip(axis.bar(labels, values, color=colours), values):
        axis.annotate("%.1f s" % value, (rectangle.get_x() + rectangle.get_width() / 2, rectangle.get_height()),
                      ha="center", va="bottom", fontsize=8)
    axis.set_ylabel("wall time (s)")
    title = "One laptop, tools installed"
    if "rerun" not in original:
        title += "\n(original script %s)" % original.get("source", "not measured")
    axis.set_title(title)


def main(argv) -> int:
    path, output_dir = argv[1], argv[2]
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    parts = {key: value for key, value in results.get("parts", {}).items() if "error" not in value}
    panels = [key for key in ("4", "1") if key in parts]
    if not panels:
        print("Plot: nothing to plot (parts 1 and 4 did not run)")
        return 0
    count = (2 if "4" in parts else 0) + (1 if "1" in parts else 0)
    figure, axes = plt.subplots(1, count, figsize=(6 * count + 1, 6), squeeze=False)
    axes = list(axes[0])
    if "4" in parts:
        fleet_panels(axes.pop(0), axes.pop(0), parts["4"])
    if "1" in parts:
        setup_panel(axes.pop(0), parts["1"])
    machine = results["machine"]
    figure.suptitle("fmapi.coding_agents benchmark: %d cores, %s, load %s at start" % (
        machine["cores"], machine["cpu"], " / ".join("%.2f" % value for value in machine["load_average"])), fontsize=10)
    figure.tight_layout()
    target = os.path.join(output_dir, "bench.png")
    figure.savefig(target, dpi=110)
    print("Plot: %s" % target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
