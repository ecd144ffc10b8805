"""The benchmark's pure logic (tests/benchmarks): what it counts and the fleet inventory it generates.

The benchmark's figures rest on these: a module-run count that missed a line, a recap read wrongly or two laptops
sharing an account would make its table wrong without any error.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

# pylint: disable=wrong-import-position
import benchlib  # noqa: E402
import bench_fleet  # noqa: E402
import fleet  # noqa: E402

VVV = """\
<127.0.0.1> ESTABLISH SSH CONNECTION FOR USER: laptop001
<127.0.0.1> SSH: EXEC ssh -C -o Port=2222 -o 'User="laptop001"' 127.0.0.1 '/bin/sh -c '"'"'echo ~laptop001 && sleep 0'"'"''
<127.0.0.1> SSH: EXEC sftp -b - -C -o ControlMaster=auto -o Port=2222 -o 'User="laptop001"' '[127.0.0.1]'
<127.0.0.1> SSH: EXEC ssh -C -o Port=2222 -o 'User="laptop002"' 127.0.0.1 '/bin/sh -c '"'"'/usr/bin/python3 && sleep 0'"'"''
<127.0.0.1> PUT /root/.ansible/tmp/ansible-local-1/tmpa TO /home/laptop001/.ansible/tmp/ansible-tmp-1-2/AnsiballZ_setup.py
<127.0.0.1> PUT /root/.ansible/tmp/ansible-local-1/tmpb TO /home/laptop002/.ansible/tmp/ansible-tmp-1-3/AnsiballZ_setup.py
<127.0.0.1> EXEC /bin/sh -c '/usr/bin/python3 /home/laptop001/.ansible/tmp/ansible-tmp-1-2/AnsiballZ_setup.py && sleep 0'
<127.0.0.1> PUT /root/.ansible/tmp/ansible-local-1/tmpc TO /home/laptop001/.ansible/tmp/ansible-tmp-1-4/AnsiballZ_claude_code_info.py
<127.0.0.1> PUT /tmp/x/.ansible/tmp/ansible-local-2/tmpd TO /root/.ansible/tmp/ansible-tmp-1-5/AnsiballZ_stat.py
"""

RECAP = """\
TASK [Say what was set up] ****
ok: [laptop001]

PLAY RECAP *********************************************************************
laptop001                  : ok=33   changed=0    unreachable=0    failed=0    skipped=30   rescued=0    ignored=0
laptop002                  : ok=31   changed=2    unreachable=0    failed=1    skipped=29   rescued=0    ignored=0
"""


def test_module_runs_counts_every_put_by_module_and_by_user():
    assert benchlib.module_runs(VVV) == {"setup": 2, "claude_code_info": 1, "stat": 1}
    assert benchlib.module_runs_by_user(VVV) == {"laptop001": 2, "laptop002": 1, "root": 1}
    # An EXEC of a module already put is not another module run.
    assert sum(benchlib.module_runs(VVV).values()) == 4


def test_ssh_operations_are_counted_by_user():
    # The local EXEC (no "SSH:") and the PUT lines are not SSH client runs of their own.
    assert benchlib.ssh_operations_by_user(VVV) == {"laptop001": 2, "laptop002": 1}


def test_recap_reads_each_host_and_totals_add_up():
    hosts = benchlib.recap("changed=5 in a task name before the recap\n" + RECAP)
    assert hosts == {"laptop001": {"ok": 33, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 30},
                     "laptop002": {"ok": 31, "changed": 2, "unreachable": 0, "failed": 1, "skipped": 29}}
    assert benchlib.recap_totals(hosts) == {"hosts": 2, "ok": 64, "changed": 2, "unreachable": 0, "failed": 1,
                                            "skipped": 59}
    assert not benchlib.recap("no recap: the play did not start")


def test_inventory_gives_each_laptop_its_own_account_on_the_port():
    text = fleet.inventory(12, 40022, "/tmp/key")
    hosts = [line.split() for line in text.splitlines() if line.startswith("laptop")]
    assert [host[0] for host in hosts] == ["laptop%03d" % number for number in range(1, 13)]
    assert all(host[1:] == ["ansible_host=127.0.0.1", "ansible_port=40022", "ansible_user=" + host[0]]
               for host in hosts)
    assert "ansible_ssh_private_key_file=/tmp/key" in text.splitlines()


def test_best_settings_skip_what_failed_or_cost_more():
    def run(seconds, cpu, **extra):
        return dict({"seconds": seconds, "controller_cpu_per_host": cpu / 2, "laptop_cpu_per_host": cpu / 2,
                     "recap": {"changed": 0}}, **extra)

    runs = {"defaults": run(100, 10), "forks25": run(80, 10), "forks50": run(81, 10), "pipelining": run(90, 8),
            "free": run(10, 2, problem="exit 1"), "factcache": run(95, 9), "cp30m": run(99, 11), "nocp": run(140, 14)}
    # forks50 is within 3% of forks25's wall time: the larger count; cp30m cost 10% more CPU; free failed.
    assert bench_fleet.choose_best(runs) == "forks50+pipelining+factcache"
    runs["pipelining"] = run(70, 8, recap={"changed": 3})
    assert bench_fleet.choose_best(runs) == "forks50+factcache"
    runs["forks50"] = run(90, 10)
    assert bench_fleet.choose_best(runs) == "forks25+factcache"


def test_cpu_model_is_read_from_cpuinfo():
    assert benchlib.cpu_model("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n") == \
        "AMD EPYC 7B13"
