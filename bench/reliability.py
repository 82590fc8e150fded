#!/usr/bin/env python3
"""Renders docs/reliability.md from the fault suite's rows (one JSON file per case).

    python3 bench/reliability.py bench/results/latest/reliability docs/reliability.md

scripts/reliability.sh runs the suite (tests/tests/it/reliability/), which writes the rows,
then this. Every figure on the page comes from a row; the words that say what a case proves
come from the test that proves it.
"""
import json
import sys
from pathlib import Path

# The order of the page: the faults of the list, then anything new, by name.
ORDER = [
    "postgres-hung",
    "postgres-slow-single",
    "postgres-slow-batch",
    "postgres-reset-mid-copy",
    "redis-hung-postgres-down",
    "service-killed",
    "half-sent-requests",
]

INTRO = """\
What happens to writes when PostgreSQL, Redis or the service itself misbehaves under load.
Each case of the fault suite (`tests/tests/it/reliability/`) puts a service under load from
16 clients writing single events and batches of 20 with client-chosen `event_id`s, injects
one fault, heals it, and counts. A client re-sends the same body while an answer leaves the
outcome open (no answer, or a 503 `outcome-unknown`, `request-timeout` or `saturated`) and
moves on after an acknowledgement or a 503 `service-unavailable` (which promises that
nothing was written, and so is never re-sent: the count checks the promise).

The faults are made by a loopback TCP proxy (`tests/src/proxy.rs`) that only the service's
connections go through: it forwards, hangs (every socket open, nothing read or passed on,
bytes already sent delivered on resume, as a SIGSTOPped server would), delays each chunk,
resets connections (SO_LINGER 0, also halfway through a COPY's data) or refuses new ones. The
SIGKILL case runs the real binary.

- **acknowledged**: events whose write got 200, 201 or 202 (after any re-sends);
- **stored**: rows in PostgreSQL after healing, the dead-letter queue drained;
- **lost**: acknowledged but not stored; **duplicated**: rows beyond one per event (both must
  be 0, and nothing a 503 `service-unavailable` refused may be stored);
- **slowest answer**, **p99**: over every HTTP exchange, re-sends included;
- **time to recover**: from healing until every event acknowledged by then is stored.
"""


def fmt_ms(value):
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms"


def order_key(row):
    case = row["case"]
    return (ORDER.index(case) if case in ORDER else len(ORDER), case)


def render(rows, suite):
    out = [
        "<!-- Written by scripts/reliability.sh (bench/reliability.py) from "
        "bench/results/latest/reliability; do not edit. -->",
        "# Reliability: the fault suite",
        "",
        INTRO,
        "```sh",
        "scripts/reliability.sh               # the whole suite",
        "scripts/reliability.sh postgres_hung # one case (a test name, or part of one)",
        "```",
        "",
    ]
    if suite:
        out += [
            f"Last run: {suite['date']}, commit `{suite['commit']}`, {suite['machine']}; the "
            f"whole suite took {suite['seconds']:.0f} s (its cases side by side, one per core, "
            "each beside another's load).",
            "",
        ]
    out += [
        "| case | acknowledged | stored | lost | duplicated | slowest answer | p99 "
        "| time to recover |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        out.append(
            f"| [{r['title']}](#{r['case']}) | {r['acknowledged']:,} | {r['stored']:,} "
            f"| {r['lost']} | {r['duplicated']} | {fmt_ms(r['slowest_ms'])} "
            f"| {fmt_ms(r['p99_ms'])} | {fmt_ms(r['recovery_ms'])} |"
        )
    out.append("")
    for r in rows:
        answers = ", ".join(f"{label} × {n:,}" for label, n in r["answers"].items())
        out += [
            f'<a id="{r["case"]}"></a>',
            f"## {r['title']}",
            "",
            r["proves"],
            "",
            f"- fault: {r['fault']}",
            f"- load: {r['load']}",
            f"- answers: {answers} ({r['requests']:,} exchanges, {r['resends']:,} of them "
            "re-sends)",
            f"- refused (503 `service-unavailable`): {r['refused']:,} events, of which stored: "
            f"{r['refused_but_stored']}",
        ]
        out += [f"- {what}: {value}" for what, value in r["details"]]
        out += [
            f"- median answer {fmt_ms(r['p50_ms'])}, p99 {fmt_ms(r['p99_ms'])}, slowest "
            f"{fmt_ms(r['slowest_ms'])}",
            "",
            f"Reproduce: `{r['command']}`",
            "",
        ]
    return "\n".join(out)


def main():
    results, doc = Path(sys.argv[1]), Path(sys.argv[2])
    rows = sorted(
        (json.loads(p.read_text()) for p in results.glob("*.json") if p.name != "suite.json"),
        key=order_key,
    )
    if not rows:
        sys.exit(f"no rows in {results}: run scripts/reliability.sh")
    suite_file = results / "suite.json"
    suite = json.loads(suite_file.read_text()) if suite_file.exists() else None
    doc.write_text(render(rows, suite))


if __name__ == "__main__":
    main()
