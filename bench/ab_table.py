"""The runs of scripts/bench-ab.sh (its "A (i): ..." lines) as a markdown table with each
side's median and B/A: python3 bench/ab_table.py RUNS.txt BINARY_A BINARY_B."""
import re
import statistics
import sys

LINE = re.compile(
    r"^(?P<side>[AB]) \((?P<n>\d+)\): ceiling (?P<ceiling>\d+)/s .*\| service (?P<rate>\d+) "
    r"events/s, p99 (?P<p99>[\d.]+) ms, ratio [\d.]+ \| CPU per event: service (?P<svc>-?[\d.]+) us, "
    r"PostgreSQL (?P<pg>-?[\d.]+) us")


def main():
    runs_file, a, b = sys.argv[1:4]
    runs = [m.groupdict() for m in map(LINE.match, open(runs_file).read().splitlines()) if m]
    out = [f"A = `{a}`, B = `{b}`; pairs alternate, each on a fresh database, 16 clients.", "",
           "| run | service events/s | p99 ms | service CPU µs/event | PostgreSQL CPU µs/event |"
           " pgbench ceiling rows/s |", "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        out.append(f"| {r['side']} ({r['n']}) | {int(r['rate']):,} | {float(r['p99']):.1f} | "
                   f"{r['svc']} | {r['pg']} | {int(r['ceiling']):,} |")
    med = {side: {k: statistics.median(float(r[k]) for r in runs if r["side"] == side)
                  for k in ("rate", "p99", "svc", "pg")} for side in ("A", "B")}
    out.append("")
    for k, name in (("rate", "events/s"), ("p99", "p99 ms"), ("svc", "service µs/event"),
                    ("pg", "PostgreSQL µs/event")):
        out.append(f"- median {name}: A {med['A'][k]:,.1f}, B {med['B'][k]:,.1f}: "
                   f"B/A {med['B'][k] / med['A'][k]:.2f}x")
    print("\n".join(out))


if __name__ == "__main__":
    main()
