#!/usr/bin/python3
"""One-line JSON snapshot of per-process CPU time, to spot foreign load.

    cpusnap.py ROOT_PID [EXTRA_PID...]

Prints {"hz": CLK_TCK, "p": {pid: [comm, utime+stime ticks, ours]}} for
every user-space process (kernel threads are left out). "ours" is 1 for
ROOT_PID, its descendants and the EXTRA_PIDs (daemons that detached, such
as ovs-vswitchd), so report.py can tell how much CPU other users of the
machine took during a measured window.
"""

import json
import os
import sys

PF_KTHREAD = 0x00200000


def main():
    roots = {int(x) for x in sys.argv[1:] if x.isdigit()}
    procs = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                s = fh.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1 : s.rindex(")")]
        f = s[s.rindex(")") + 2 :].split()
        # f[0] is field 3 (state); ppid is field 4, flags 9, utime 14, stime 15.
        ppid, flags, ticks = int(f[1]), int(f[6]), int(f[11]) + int(f[12])
        if flags & PF_KTHREAD:
            continue
        procs[int(d)] = (comm, ppid, ticks)
    ours = {}

    def is_ours(pid, depth=0):
        if pid in ours:
            return ours[pid]
        if pid in roots:
            r = True
        elif pid not in procs or pid <= 1 or depth > 64:
            r = False
        else:
            r = is_ours(procs[pid][1], depth + 1)
        ours[pid] = r
        return r

    out = {str(p): [c, t, int(is_ours(p))] for p, (c, _, t) in procs.items()}
    print(json.dumps({"hz": os.sysconf("SC_CLK_TCK"), "p": out}, separators=(",", ":")))


if __name__ == "__main__":
    main()
