#!/usr/bin/python3
"""Summarises scripts/bench-veth.sh runs: medians, ratios, JSON and chart.

Input: the JSON-lines file the script writes, one object per measured run
(forwarder, size, round, generator summary, sink drop delta, /proc/stat and
/proc/net/softnet_stat before/after, forwarder counters before/after).
Output: a table on stdout, the summary JSON, and a grouped bar chart.

    report.py --raw out/bench-veth.d/runs.jsonl --out out/bench-veth.json \
              --chart docs/img/bench-veth.png [--duration 5 --runs 3]
"""

import argparse
import json
import statistics
import sys

# Display order and labels. "gen" and "gen-cpu0" are the generator alone.
LABELS = {
    "gen": "xvs-gen alone (sink work on CPU1)",
    "gen-cpu0": "xvs-gen alone (sink work on CPU0)",
    "xvs": "xvs (AF_XDP, L2 learn-hit)",
    "bridge": "Linux bridge (static fdb, kernel placement)",
    "bridge-rps": "Linux bridge (static fdb, RPS->CPU1)",
    "ovs": "OVS 3.1 userspace, afxdp ports",
    "testpmd": "DPDK 22.11 testpmd io-fwd, net_af_xdp",
    "xvs-encap": "xvs VXLAN encap",
    "bridge-vxlan-encap": "Linux bridge + kernel vxlan encap (RPS->CPU1)",
    "ovs-vxlan-encap": "OVS 3.1 userspace VXLAN encap, afxdp ports",
    "xvs-decap": "xvs VXLAN decap",
    "bridge-vxlan-decap": "Linux bridge + kernel vxlan decap (RPS->CPU1)",
    "ovs-vxlan-decap": "OVS 3.1 userspace VXLAN decap, afxdp ports",
}
ORDER = ["xvs", "testpmd", "ovs", "bridge", "bridge-rps", "gen", "gen-cpu0",
         "xvs-encap", "ovs-vxlan-encap", "bridge-vxlan-encap", "xvs-decap", "ovs-vxlan-decap", "bridge-vxlan-decap"]
SHORT = {
    "gen": "xvs-gen alone\n(sink on CPU1)",
    "gen-cpu0": "xvs-gen alone\n(sink on CPU0)",
    "xvs": "xvs",
    "bridge": "Linux bridge",
    "bridge-rps": "Linux bridge\n(RPS to CPU1)",
    "ovs": "OVS 3.1 afxdp",
    "testpmd": "testpmd io-fwd",
    "xvs-encap": "xvs encap",
    "bridge-vxlan-encap": "bridge+vxlan encap",
    "ovs-vxlan-encap": "OVS encap",
    "xvs-decap": "xvs decap",
    "bridge-vxlan-decap": "bridge+vxlan decap",
    "ovs-vxlan-decap": "OVS decap",
}
# (peer, minimum xvs/peer ratio); the bridge target is stated for 64 B.
TARGETS = [("bridge", 1.3, [64]), ("bridge-rps", 1.3, [64]), ("testpmd", 0.98, None), ("ovs", 1.0, None)]
# Overlay benchmark (issue 11): (xvs forwarder, peer, minimum ratio).
OVERLAY_TARGETS = [(f"xvs-{d}", f"{p}-vxlan-{d}", want) for d in ("encap", "decap")
                   for p, want in (("bridge", 2.0), ("ovs", 1.0))]


def cpu_split(before, after):
    """Per-CPU share of time (percent) from two /proc/stat snapshots."""
    def parse(s):
        out = {}
        for line in s.strip(";").split(";"):
            f = line.split()
            if f and f[0].startswith("cpu") and f[0] != "cpu":
                out[f[0]] = [int(x) for x in f[1:9]]
        return out

    b, a = parse(before), parse(after)
    res = {}
    for cpu in sorted(a):
        d = [x - y for x, y in zip(a[cpu], b.get(cpu, a[cpu]))]
        tot = sum(d) or 1
        user, nice, system, idle, iowait, irq, softirq, steal = d
        res[cpu] = {
            "busy": round(100 * (tot - idle - iowait) / tot, 1),
            "user": round(100 * (user + nice) / tot, 1),
            "sys": round(100 * system / tot, 1),
            "softirq": round(100 * (softirq + irq) / tot, 1),
            "steal": round(100 * steal / tot, 1),
        }
    return res


def softnet_drops(before, after):
    """Backlog drops per CPU (second column of softnet_stat, hex)."""
    def parse(s):
        return [int(line.split()[1], 16) for line in s.strip(";").split(";") if line.strip()]

    b, a = parse(before), parse(after)
    return [y - x for x, y in zip(b, a)]


def delta(a, b):
    """Recursive numeric difference b - a of two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: delta(a.get(k), v) for k, v in b.items()}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [delta(x, y) for x, y in zip(a, b)]
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, (int, float)):
        return b - a
    return b


def xvs_counters(s0, s1):
    if not s0 or not s1:
        return None
    d = delta(s0, s1)
    dp = d.get("dataplane", {})
    q = {x["iface"]: x for x in dp.get("queues", [])}
    w = (dp.get("workers") or [{}])[0]
    a, b = q.get("pa", {}), q.get("pb", {})
    loops = w.get("loops", 0)
    return {
        "rx_packets_a": a.get("rx_packets"),
        "tx_packets_b": b.get("tx_packets"),
        "tx_ring_full_b": b.get("tx_ring_full"),
        "tx_kicks_b": b.get("tx_kicks"),
        "pkts_per_kick": round(b["tx_packets"] / b["tx_kicks"], 1) if b.get("tx_kicks") else None,
        "fill_ring_empty_a": a.get("fill_ring_empty"),
        "kernel_rx_ring_full_a": a.get("kernel_rx_ring_full"),
        "kernel_rx_fill_ring_empty_a": a.get("kernel_rx_fill_ring_empty"),
        "kernel_rx_dropped_a": a.get("kernel_rx_dropped"),
        "loops": loops,
        "idle_loops": w.get("idle_loops"),
        "busy_loop_share": round(1 - w.get("idle_loops", 0) / loops, 3) if loops else None,
        "pkts_per_busy_loop": round(a["rx_packets"] / (loops - w["idle_loops"]), 1)
        if a.get("rx_packets") and loops and loops > w.get("idle_loops", 0) else None,
        "pipeline_drops": {k: v for k, v in d.get("drops", {}).items() if v},
        "forwarded": d.get("pipeline", {}).get("forwarded"),
    }


def ovs_counters(s0, s1):
    if not s0 or not s1:
        return None
    d = delta(s0, s1)
    return {p: {k: v for k, v in d.get(p, {}).items() if k in ("rx_pkts", "tx_pkts") or v} for p in ("pa", "pb")}


def foreign_cpu(snaps, seconds):
    """CPU used by processes that are not part of the benchmark, in percent
    of one CPU (the machine has two, so 200 is everything), and the top few."""
    if not snaps or not snaps[0] or not snaps[1]:
        return None
    b, a = snaps[0]["p"], snaps[1]["p"]
    hz = snaps[1]["hz"]
    use = {}
    for pid, (comm, ticks, ours) in a.items():
        if ours:
            continue
        prev = b.get(pid)
        d = ticks - (prev[1] if prev and prev[0] == comm else 0)
        if d > 0:
            use[comm] = use.get(comm, 0) + d
    tot = sum(use.values())
    top = sorted(use.items(), key=lambda kv: -kv[1])[:4]
    return {"pct": round(100 * tot / hz / seconds, 1), "top": {k: round(100 * v / hz / seconds, 1) for k, v in top}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--chart")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--versions")
    args = ap.parse_args()

    runs = [json.loads(l) for l in open(args.raw) if l.strip()]
    fwds = [f for f in ORDER if any(r["forwarder"] == f for r in runs)]
    fwds += sorted({r["forwarder"] for r in runs} - set(fwds))
    sizes = sorted({r["size"] for r in runs})

    per_run = []
    for r in runs:
        x = {
            "forwarder": r["forwarder"],
            "size": r["size"],
            "round": r["round"],
            "seconds": r["gen"]["seconds"],
            "offered_mpps": round(r["offered_pps"] / 1e6, 4),
            "delivered_mpps": round(r["delivered_pps"] / 1e6, 4),
            "loss_pct": round(100 * (1 - r["sink_drops"] / r["gen"]["sent"]), 2) if r["gen"]["sent"] else None,
            "loadavg": r["loadavg"],
            "cpu": cpu_split(*r["proc_stat"]),
            "softnet_drops": softnet_drops(*r["softnet"]),
            "foreign_cpu": foreign_cpu(r.get("procs"), r["gen"]["seconds"]),
        }
        if r["forwarder"] in ("xvs", "xvs-encap", "xvs-decap"):
            x["xvs"] = xvs_counters(*r["fwd_stats"])
        elif r["forwarder"] == "ovs":
            x["ovs"] = ovs_counters(*r["fwd_stats"])
        per_run.append(x)

    results = {}
    for f in fwds:
        results[f] = {}
        for s in sizes:
            rs = sorted((x for x in per_run if x["forwarder"] == f and x["size"] == s), key=lambda x: x["round"])
            if not rs:
                continue
            dl = [x["delivered_mpps"] for x in rs]
            of = [x["offered_mpps"] for x in rs]
            results[f][str(s)] = {
                "delivered_mpps": dl,
                "offered_mpps": of,
                "median_mpps": round(statistics.median(dl), 3),
                "median_offered_mpps": round(statistics.median(of), 3),
                "min_mpps": round(min(dl), 3),
                "max_mpps": round(max(dl), 3),
                "cpu0_busy_pct": statistics.median(x["cpu"].get("cpu0", {}).get("busy", 0) for x in rs),
                "cpu1_busy_pct": statistics.median(x["cpu"].get("cpu1", {}).get("busy", 0) for x in rs),
                "cpu1_softirq_pct": statistics.median(x["cpu"].get("cpu1", {}).get("softirq", 0) for x in rs),
                "cpu0_softirq_pct": statistics.median(x["cpu"].get("cpu0", {}).get("softirq", 0) for x in rs),
                "foreign_cpu_pct": [x["foreign_cpu"]["pct"] if x["foreign_cpu"] else None for x in rs],
            }
            if f == "xvs":
                ks = [x["xvs"].get("pkts_per_kick") for x in rs if x.get("xvs") and x["xvs"].get("pkts_per_kick")]
                if ks:
                    results[f][str(s)]["xvs_pkts_per_tx_kick"] = statistics.median(ks)

    def med(f, s):
        return results.get(f, {}).get(str(s), {}).get("median_mpps")

    ratios, targets = {}, []
    for peer, want, only in TARGETS:
        for s in sizes:
            a, b = med("xvs", s), med(peer, s)
            if a is None or not b:
                continue
            r = round(a / b, 3)
            ratios[f"xvs/{peer}@{s}"] = r
            if only is None or s in only:
                targets.append({"peer": peer, "size": s, "target": want, "ratio": r, "met": r >= want})
    for ours, peer, want in OVERLAY_TARGETS:
        for s in sizes:
            a, b = med(ours, s), med(peer, s)
            if a is None or not b:
                continue
            r = round(a / b, 3)
            ratios[f"{ours}/{peer}@{s}"] = r
            targets.append({"xvs": ours, "peer": peer, "size": s, "target": want, "ratio": r, "met": r >= want})

    summary = {
        "benchmark": "veth: xvs-gen (CPU0) -> veth -> forwarder (CPU1) -> veth -> XDP_DROP sink",
        "duration_s": args.duration,
        "runs": args.runs,
        "statistic": "median of runs, Mpps delivered at the sink",
        "labels": {f: LABELS.get(f, f) for f in fwds},
        "results": results,
        "ratios": ratios,
        "targets": targets,
        "versions": open(args.versions).read().strip().splitlines() if args.versions else None,
        "runs_detail": per_run,
    }
    with open(args.out, "w") as fh:
        json.dump(summary, fh, indent=2)
        fh.write("\n")

    # ---- table
    w = max(len(LABELS.get(f, f)) for f in fwds)
    hdr = f"{'forwarder':<{w}} " + " ".join(f"{str(s) + ' B':>24}" for s in sizes)
    print()
    print(f"Mpps delivered, median of {args.runs} x {args.duration:g} s  (runs in brackets)")
    print(hdr)
    print("-" * len(hdr))
    for f in fwds:
        cells = []
        for s in sizes:
            r = results[f].get(str(s))
            cells.append(f"{r['median_mpps']:.3f} [{' '.join(f'{v:.2f}' for v in r['delivered_mpps'])}]" if r else "-")
        print(f"{LABELS.get(f, f):<{w}} " + " ".join(f"{c:>24}" for c in cells))
    print()
    print("offered (generator's send rate) medians: " + "; ".join(
        f"{f} " + "/".join(f"{results[f][str(s)]['median_offered_mpps']:.3f}" for s in sizes if str(s) in results[f])
        for f in fwds))
    for s in sizes:
        r = results.get("xvs", {}).get(str(s), {})
        if "xvs_pkts_per_tx_kick" in r:
            print(f"xvs at {s} B: {r['xvs_pkts_per_tx_kick']:.1f} frames per TX kick (sendto), median")
    fc = [x["foreign_cpu"]["pct"] for x in per_run if x.get("foreign_cpu")]
    if fc:
        print(f"CPU taken by other processes during the runs (% of one CPU): median {statistics.median(fc):.0f}, max {max(fc):.0f}")
    print()
    for k, v in ratios.items():
        print(f"  {k:<40} {v:.3f}")
    print()
    for t in targets:
        print(f"  target {t.get('xvs', 'xvs')}/{t['peer']} @ {t['size']} B >= {t['target']}: {t['ratio']:.3f}  {'MET' if t['met'] else 'NOT MET'}")

    # ---- chart
    if args.chart:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        colors = {"xvs": "#d62728", "testpmd": "#1f77b4", "ovs": "#2ca02c", "bridge": "#ff7f0e", "bridge-rps": "#ffbb78",
                  "gen": "#7f7f7f", "gen-cpu0": "#c7c7c7",
                  "xvs-encap": "#d62728", "ovs-vxlan-encap": "#2ca02c", "bridge-vxlan-encap": "#ff7f0e",
                  "xvs-decap": "#ff9896", "ovs-vxlan-decap": "#98df8a", "bridge-vxlan-decap": "#ffbb78"}
        fig, ax = plt.subplots(figsize=(10, 6), dpi=110)
        n = len(fwds)
        width = 0.8 / n
        for i, f in enumerate(fwds):
            xs, ys, lo, hi = [], [], [], []
            for j, s in enumerate(sizes):
                r = results[f].get(str(s))
                if not r:
                    continue
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(r["median_mpps"])
                lo.append(max(0.0, r["median_mpps"] - r["min_mpps"]))
                hi.append(max(0.0, r["max_mpps"] - r["median_mpps"]))
            hatch = "//" if f.startswith("gen") else None
            bars = ax.bar(xs, ys, width * 0.92, yerr=[lo, hi], capsize=3, label=SHORT.get(f, f),
                          color=colors.get(f), hatch=hatch, edgecolor="black", linewidth=0.5)
            for b, y in zip(bars, ys):
                ax.text(b.get_x() + b.get_width() / 2, y + 0.02, f"{y:.2f}", ha="center", va="bottom", fontsize=8)
            if not f.startswith("gen"):  # the generator's own rate during the forwarder's runs
                offs = [results[f][str(s)]["median_offered_mpps"] for s in sizes if str(s) in results[f]]
                ax.scatter(xs, offs, marker="_", s=260, color="black", linewidths=1.6, zorder=5,
                           label="offered (generator rate)" if i == 0 else None)
        ax.set_xticks(range(len(sizes)))
        overlay = all(f.endswith(("-encap", "-decap")) for f in fwds)
        ax.set_xticklabels([f"{s}-byte {'inner ' if overlay else ''}frames" for s in sizes])
        ax.set_ylabel("Mpps delivered to the sink")
        ax.set_title(f"veth benchmark: generator CPU0 -> forwarder CPU1 -> XDP_DROP sink\n"
                     f"median of {args.runs} x {args.duration:g} s, bars = min..max; 2-vCPU VM, copy-mode AF_XDP")
        top = max(max(r["max_mpps"], r["median_offered_mpps"]) for f in fwds for r in results[f].values())
        ax.set_ylim(0, top * 1.12)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.09), frameon=False)
        fig.tight_layout()
        fig.savefig(args.chart)
        print(f"\nchart: {args.chart}")


if __name__ == "__main__":
    main()
