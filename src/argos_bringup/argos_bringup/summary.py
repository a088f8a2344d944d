"""Human-readable run summary (the JSON form is the same dict)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def _fmt(value, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def print_summary(s: dict, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    counts = s["counts"]["by_class_direction"]
    truth = s["ground_truth"]["by_class_direction"]
    table = Table(title="Counts per class and direction (graph vs ground truth)")
    for col in ("class", "in", "in (truth)", "out", "out (truth)"):
        table.add_column(col, justify="right" if col != "class" else "left")
    for label in sorted(set(counts) | set(truth)):
        c, t = counts.get(label, {}), truth.get(label, {})
        table.add_row(label, str(c.get("in", 0)), str(t.get("in", 0)), str(c.get("out", 0)), str(t.get("out", 0)))
    err = s["count_error"]
    table.add_row("total", str(err["total_measured"]), str(err["total_truth"]), "", "", style="bold")
    console.print(table)

    lines = Table(title="Counts per line and direction")
    for col in ("line", "in", "in (truth)", "out", "out (truth)"):
        lines.add_column(col, justify="right" if col != "line" else "left")
    lc, lt = s["counts"]["by_line_direction"], s["ground_truth"]["by_line_direction"]
    for line in sorted(set(lc) | set(lt)):
        c, t = lc.get(line, {}), lt.get(line, {})
        lines.add_row(line, str(c.get("in", 0)), str(t.get("in", 0)), str(c.get("out", 0)), str(t.get("out", 0)))
    console.print(lines)
    if "movements" in s:
        console.print(movement_table(s["movements"]))

    f, lat, r, m = s["frames"], s["latency_ms"], s["redis"], s["mqtt"]
    run = Table(
        title=f"Run ({s['machine']['host']}, {s['machine']['cpu']}, Python {s['machine']['python']})", show_header=False
    )
    run.add_column("what")
    run.add_column("value")
    run.add_row("source", s["source"])
    run.add_row("duration", f"{s['duration_s']} s")
    run.add_row("frames captured / processed / tracked", f"{_fmt(f['captured'])} / {f['processed']} / {f['tracked']}")
    run.add_row("frames dropped in hand-off", _fmt(f["dropped_in_handoff"]))
    run.add_row("mean FPS (target)", f"{s['fps']['mean']} ({s['fps']['target']})")
    run.add_row(
        "latency p50 / p95 / p99 / max",
        f"{_fmt(lat['p50'])} / {_fmt(lat['p95'])} / {_fmt(lat['p99'])} / {_fmt(lat['max'])} ms "
        f"({lat['samples']} samples, {lat['measured']})",
    )
    run.add_row("count error (class x direction)", f"{err['abs_error_by_class_direction']} of {err['total_truth']}")
    if "movements" in s:
        mv = s["movements"]
        run.add_row(
            "movement cells matching (movement x class)",
            f"{mv['cells_matching']} of {mv['cells']} ({mv['total']} movements, truth {mv['truth_total']})",
        )
    run.add_row(
        "redis",
        f"{r['url']}: {_fmt(r['entries_written'])} entries written, {_fmt(r['write_failures'])} failed, "
        f"{_fmt(r['buffered'])} buffered / {_fmt(r['flushed'])} flushed / {_fmt(r['dropped'])} dropped while "
        f"away; stream length {_fmt(r['stream_length_at_end'])}",
    )
    rx = m["received_by_independent_subscriber"] or {}
    run.add_row(
        "mqtt",
        f"{m['url']}: {_fmt(m['messages_published'])} published, {_fmt(m['spooled'])} spooled / "
        f"{_fmt(m['flushed'])} flushed / {_fmt(m['spool_dropped'])} dropped from the spool, "
        f"{_fmt(m['publish_failures'])} failed, {_fmt(m['rejected'])} rejected; "
        f"independent subscriber received " + ", ".join(f"{k} {v}" for k, v in sorted(rx.items())),
    )
    q = s["bridge_queue"]
    run.add_row(
        "bridge queue",
        f"{_fmt(q['dropped'])} tracks messages and {_fmt(q['counts_dropped'])} count events "
        f"dropped on overflow, {_fmt(q['rejected'])} rejected",
    )
    lost = {k: v for k, v in s.get("losses", {}).items() if v}
    run.add_row("messages lost", ", ".join(f"{k} {v}" for k, v in lost.items()) if lost else "none")
    console.print(run)


def movement_table(mv: dict) -> Table:
    """The movement matrix next to the ground truth: per movement its approach lines, the totals,
    whether every class cell of the row matches, and the classes as `car 2 (2)` (graph (truth)),
    one column for them all so that eleven classes still fit a terminal."""
    table = Table(title="Turning movements: graph (ground truth)")
    table.add_column("movement", no_wrap=True)
    table.add_column("from -> to", no_wrap=True)
    for col in ("graph", "truth", "match"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("per class: graph (truth)")
    for row in mv["matrix"]:
        ours, truth = row["by_class"], row["truth_by_class"]
        classes = sorted(set(ours) | set(truth), key=lambda c: (-max(ours.get(c, 0), truth.get(c, 0)), c))
        cells = []
        for c in classes:
            o, t = ours.get(c, 0), truth.get(c, 0)
            cell = f"{c} {o} ({t})"
            cells.append(cell if o == t else f"[bold red]{cell}[/]")
        table.add_row(
            row["movement"],
            f"{row['from_line']} -> {row['to_line']}",
            str(row["total"]),
            str(row["truth_total"]),
            "yes" if row["match"] else "[bold red]NO[/]",
            ", ".join(cells),
        )
    table.add_row("total", "", str(mv["total"]), str(mv["truth_total"]), "", "", style="bold")
    if mv["incomplete"]:
        table.caption = "incomplete (graph, not compared): " + ", ".join(
            f"{k} {v}" for k, v in mv["incomplete"].items()
        )
    return table


def print_count_comparison(measured, others, console: Console | None = None) -> None:
    """Counts per class/direction and per line/direction: `measured` next to named references."""
    console = console or Console(highlight=False)
    for title, view in (("class", "by_class_direction"), ("line", "by_line_direction")):
        rows = getattr(measured, view)()
        refs = [(name, getattr(table, view)()) for name, table in others]
        table = Table(title=f"Counts per {title} and direction")
        table.add_column(title)
        for direction in ("in", "out"):
            table.add_column(direction, justify="right")
            for name, _ in refs:
                table.add_column(f"{direction} ({name})", justify="right")
        keys = sorted(set(rows).union(*(set(r) for _, r in refs)))
        for key in keys:
            cells = [key]
            for direction in ("in", "out"):
                cells.append(str(rows.get(key, {}).get(direction, 0)))
                cells += [str(r.get(key, {}).get(direction, 0)) for _, r in refs]
            table.add_row(*cells)
        console.print(table)
