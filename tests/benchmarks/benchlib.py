"""What the benchmarks share: counting module runs in ``-vvv`` output, reading the play recap, naming the machine.

Pure functions (tests/unit/benchmarks/test_benchlib.py) plus a few small wrappers around subprocess.
"""

from __future__ import annotations

import collections
import os
import re
import statistics
import typing as t

# Every module Ansible ships to a host without pipelining is one ``PUT <local> TO <remote>/AnsiballZ_<name>.py``
# line at -vvv; with pipelining (or Mitogen) nothing is put, so count on a run without it.
_MODULE_RUN = re.compile(r"PUT .* TO (\S*)/AnsiballZ_([A-Za-z0-9_]+)\.py")
_SSH_EXEC = re.compile(r"^<[^>]+> SSH: EXEC (?:ssh|sftp|scp) .*?-o 'User=\"([^\"]+)\"'", re.MULTILINE)
# ``laptop007          : ok=33   changed=0    unreachable=0    failed=0    skipped=27 ...``
_RECAP_LINE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)",
                         re.MULTILINE)
# The remote temporary directory of a user: /home/<user>/.ansible/tmp/... or /root/.ansible/tmp/...
_REMOTE_HOME = re.compile(r"^(?:/home/([^/]+)|/(root))/")


def module_runs(output: str) -> t.Counter:
    """Module runs by module name, counted from the ``PUT ... AnsiballZ_<module>.py`` lines of a -vvv run."""
    return collections.Counter(name for _remote, name in _MODULE_RUN.findall(output))


def module_runs_by_user(output: str) -> t.Dict[str, int]:
    """Module runs by remote user (the owner of the home directory the module was put into)."""
    counts: t.Dict[str, int] = collections.Counter()
    for remote, _name in _MODULE_RUN.findall(output):
        match = _REMOTE_HOME.match(remote + "/")
        counts[(match.group(1) or match.group(2)) if match else "?"] += 1
    return dict(counts)


def ssh_operations_by_user(output: str) -> t.Dict[str, int]:
    """SSH client runs by remote user, from the ``SSH: EXEC ssh|sftp|scp ... User="<user>"`` lines of a -vvv run:
    each is one ssh process on the controller and one session (a shell or sftp-server) on the host."""
    counts: t.Dict[str, int] = collections.Counter(_SSH_EXEC.findall(output))
    return dict(counts)


def recap(output: str) -> t.Dict[str, t.Dict[str, int]]:
    """The PLAY RECAP of an ansible-playbook run: {host: {ok, changed, unreachable, failed, skipped}}."""
    hosts = {}
    tail = output[output.rfind("PLAY RECAP"):] if "PLAY RECAP" in output else ""
    for match in _RECAP_LINE.finditer(tail):
        hosts[match.group(1)] = dict(zip(("ok", "changed", "unreachable", "failed", "skipped"),
                                         (int(value) for value in match.groups()[1:])))
    return hosts


def recap_totals(hosts: t.Dict[str, t.Dict[str, int]]) -> t.Dict[str, int]:
    """The recap summed over hosts, with the number of hosts."""
    totals = {"hosts": len(hosts)}
    for counts in hosts.values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def median(values: t.Sequence[float]) -> t.Optional[float]:
    return statistics.median(values) if values else None


def cpu_model(cpuinfo: str) -> str:
    """The CPU model named in /proc/cpuinfo (the first ``model name``), else the architecture."""
    for line in cpuinfo.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return os.uname().machine


def machine() -> t.Dict[str, t.Any]:
    """The machine the figures come from: cores, CPU model, memory, load average now."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            model = cpu_model(handle.read())
    except OSError:
        model = os.uname().machine
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            memory_kb = int(handle.readline().split()[1])
    except (OSError, IndexError, ValueError):
        memory_kb = 0
    return {"cores": os.cpu_count() or 0, "cpu": model, "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "load_average": [round(value, 2) for value in os.getloadavg()], "kernel": os.uname().release}


def describe_machine(info: t.Dict[str, t.Any]) -> str:
    return "%d cores, %s, %s GB RAM, load average %s at start" % (
        info["cores"], info["cpu"], info["memory_gb"], " / ".join("%.2f" % value for value in info["load_average"]))


def markdown_table(header: t.Sequence[str], rows: t.Sequence[t.Sequence[t.Any]]) -> str:
    """A markdown table; numbers right-aligned by their markdown column."""
    def cell(value: t.Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return "%.2f" % value if abs(value) < 10 else "%.1f" % value
        return str(value)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if index else "---" for index in range(len(header))) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)
