#!/usr/bin/python3
"""`ovs-ofctl dump-ports BR` on stdin -> {"pa": {...}, "pb": {...}} JSON.

Port 1 is pa and port 2 is pb (bench-veth.sh requests those ofport numbers).
Counters become rx_pkts, rx_drop, tx_pkts, tx_drop, ...; "?" values are left out.
"""
import json
import re
import sys

NAMES = {"1": "pa", "2": "pb"}
text = sys.stdin.read()
out = {}
for port, rx, tx in re.findall(r"port\s+(\w+):\s*rx ([^\n]*)\n\s*tx ([^\n]*)", text):
    d = {}
    for direction, fields in (("rx", rx), ("tx", tx)):
        for k, v in re.findall(r"(\w+)=(\d+)", fields):
            d[f"{direction}_{k}"] = int(v)
    out[NAMES.get(port, port)] = d
print(json.dumps(out or None))
