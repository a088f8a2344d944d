"""`argos export bins`: a camera's interval bins from its Redis stream as a CSV table in the
layout turning-movement counts are exchanged in: one row per interval, one column per movement
and class (`WBL car`), a total per movement and one for the interval.

The bins are the bridge's `bin` payloads (argos_bridge.schema.bin_payload). A bin published
again after a late event carries a higher revision: the highest revision of each bin start is
the one exported. Intervals in the range that have no bin (the unit was down, or the bin is
not closed yet) are rows with empty cells and `no data`, never zeros: a quiet interval the
unit saw is a bin of zeros, one it did not see is unknown. With `interval_min` longer than the
stored bins' (e.g. 60 from 15), the bins are summed; a row missing some of its bins says
`partial` with how many were there.

The file is UTF-8 with a byte order mark and a header row, so Excel opens it with the right
encoding; times are `YYYY-MM-DD HH:MM:SS` (ISO 8601 with a space, which Excel reads as a date)
in UTC, or in the machine's local time with its UTC offset in a column of its own (`local`).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from argos_common.bins import BIN_MINUTES, bin_start_ns

MINUTE_NS = 60 * 1_000_000_000
# bins are written after they close, and the stream's ids are the server's clock: read from
# this long before the range starts so a bridge clock somewhat ahead of the server's loses none
CLOCK_SKEW_NS = 3600 * 1_000_000_000


class ExportError(ValueError):
    """Said to the user in one line (exit code 2)."""


@dataclass(frozen=True)
class StoredBin:
    start_ns: int
    interval_min: int
    revision: int
    movements: dict[tuple[str, str], int]  # (movement, class) -> count


def parse_time(text: str, local: bool = False) -> int:
    """An ISO 8601 time (`2025-03-01T07:00`, `2025-03-01 07:00:00Z`, `...+01:00`) in ns since the
    epoch; one without a zone is UTC, or local time with `local`."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ExportError(f"{text!r} is not an ISO 8601 time (e.g. 2025-03-01T07:00:00Z)") from None
    if value.tzinfo is None:
        value = value.astimezone() if local else value.replace(tzinfo=UTC)
    return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000


def latest_bins(payloads: Iterable[str | Mapping[str, Any]]) -> dict[int, StoredBin]:
    """Bin payloads (JSON text or parsed) -> the highest revision of each bin start. Entries that
    are not bins of this schema are skipped (the collector reports malformed ones)."""
    out: dict[int, StoredBin] = {}
    for item in payloads:
        try:
            p = json.loads(item) if isinstance(item, str) else item
            b = StoredBin(
                int(p["bin_start_ns"]),
                int(p["interval_min"]),
                int(p.get("revision", 0)),
                {(str(r["movement"]), str(r["class_id"])): int(r["count"]) for r in p.get("movements", [])},
            )
        except (KeyError, ValueError, TypeError):
            continue
        if b.start_ns not in out or b.revision > out[b.start_ns].revision:
            out[b.start_ns] = b
    return out


def read_bins(client, key: str, from_ns: int) -> dict[int, StoredBin]:
    """The stream's bins (latest revision each) written since shortly before `from_ns`."""
    from argos_common.redis_client import read_entries

    return latest_bins(text for _kind, text in read_entries(client, key, from_ns - CLOCK_SKEW_NS, ("bin",)))


def _ordered(seen: Iterable[str], preferred: Sequence[str]) -> list[str]:
    seen = set(seen)
    return [x for x in preferred if x in seen] + sorted(seen - set(preferred))


def _stamp(ns: int, local: bool) -> tuple[str, str]:
    t = datetime.fromtimestamp(ns / 1e9, UTC)
    if local:
        t = t.astimezone()
    offset = t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S"), f"{offset[:3]}:{offset[3:]}"


def bin_table(
    bins: Mapping[int, StoredBin],
    from_ns: int,
    to_ns: int,
    interval_min: int | None = None,
    movements: Sequence[str] = (),
    classes: Sequence[str] = (),
    local: bool = False,
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the export over [from_ns, to_ns): rows start at the interval boundary
    at or before `from_ns`. Columns: start, end (and the UTC offset with `local`), one per
    movement and class seen in the range (`movements` and `classes` give the order, e.g. the
    configured table's and the class list's; the configured movements are always there), a
    total per movement, the interval's total, and the data status."""
    if to_ns <= from_ns:
        raise ExportError("--to must be after --from")
    in_range = {s: b for s, b in bins.items() if from_ns - 60 * MINUTE_NS < s < to_ns}
    stored = {b.interval_min for b in in_range.values()}
    if len(stored) > 1:
        raise ExportError(
            f"the range holds bins of {', '.join(map(str, sorted(stored)))} minutes "
            "(bins.interval_min changed): export each part on its own"
        )
    stored_min = stored.pop() if stored else (interval_min or 15)
    interval_min = interval_min or stored_min
    if interval_min not in BIN_MINUTES:
        raise ExportError(f"--interval-min {interval_min}: must be one of {BIN_MINUTES}")
    if interval_min % stored_min:
        raise ExportError(
            f"--interval-min {interval_min}: the stream holds {stored_min}-min bins, "
            "which sum up only to multiples of that"
        )
    step = interval_min * MINUTE_NS
    starts = range(bin_start_ns(from_ns, step), to_ns, step)
    rows_of: dict[int, list[StoredBin]] = {s: [] for s in starts}
    for b in in_range.values():
        start = bin_start_ns(b.start_ns, step)
        if start in rows_of:
            rows_of[start].append(b)
    cells: set[tuple[str, str]] = {k for parts in rows_of.values() for b in parts for k in b.movements}
    movement_cols = _ordered({m for m, _ in cells} | set(movements), movements)
    class_cols = _ordered({c for _, c in cells}, classes)
    zone = "local" if local else "UTC"
    header = [f"start ({zone})", f"end ({zone})"] + (["utc_offset"] if local else [])
    pairs = [(m, c) for m in movement_cols for c in class_cols]
    header += [f"{m} {c}" for m, c in pairs] + [f"{m} total" for m in movement_cols]
    header += ["total", "data", "revision"]
    per_row = interval_min // stored_min
    rows = []
    for start, parts in rows_of.items():
        start_text, offset = _stamp(start, local)
        row = [start_text, _stamp(start + step, local)[0]] + ([offset] if local else [])
        if not parts:
            rows.append(row + [""] * (len(pairs) + len(movement_cols) + 1) + ["no data", ""])
            continue
        counts: Counter = Counter()
        for b in parts:
            counts.update(b.movements)
        row += [str(counts[k]) for k in pairs]
        row += [str(sum(counts[m, c] for c in class_cols)) for m in movement_cols]
        row.append(str(sum(counts.values())))
        row.append("ok" if len(parts) == per_row else f"partial {len(parts)}/{per_row}")
        row.append(str(max(b.revision for b in parts)))
        rows.append(row)
    return header, rows


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: what Excel writes and expects
    writer.writerow(header)
    writer.writerows(rows)


def export_bins(
    client,
    key: str,
    from_ns: int,
    to_ns: int,
    interval_min: int | None = None,
    movements: Sequence[str] = (),
    classes: Sequence[str] = (),
    local: bool = False,
) -> str:
    """The CSV text (without the byte order mark) of the stream's bins over [from_ns, to_ns)."""
    header, rows = bin_table(read_bins(client, key, from_ns), from_ns, to_ns, interval_min, movements, classes, local)
    buf = io.StringIO()
    write_csv(header, rows, buf)
    return buf.getvalue()


def cmd_export_bins(args) -> int:
    import sys

    import redis

    from argos_common.endpoints import DEFAULT_REDIS_URL, read_secret_file, redact_url, stream_key
    from argos_common.params import ConfigError
    from argos_common.redis_client import connect_redis

    from .config import camera_namespaces, default_config_path, load_config

    try:
        paths = [args.config] if args.config else [default_config_path()]
        namespace = args.namespace or camera_namespaces(paths)[0]
        cfg = load_config(paths, None, namespace)
        bridge, tracker = cfg.node("bridge"), cfg.node("tracker")
        camera = bridge["camera"] or namespace.rstrip("/").rsplit("/", 1)[-1] or "cam0"
        key = args.stream or stream_key(bridge["site"], bridge["device"], camera)
        if args.redis_url:
            client = connect_redis(args.redis_url, timeout_s=5.0, key="--redis-url")
            url = args.redis_url
        else:
            url = bridge["redis_url"] or DEFAULT_REDIS_URL
            password = read_secret_file(bridge["redis_password_file"], "redis_password_file")
            client = connect_redis(url, timeout_s=5.0, username=bridge["redis_username"], password=password)
        from_ns, to_ns = parse_time(args.from_, args.local), parse_time(args.to, args.local)
        text = export_bins(
            client,
            key,
            from_ns,
            to_ns,
            args.interval_min,
            list(tracker.get("movements.names", []) or []),
            list(cfg.node("camera")["classes"]),
            args.local,
        )
    except (ConfigError, ExportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except redis.RedisError as exc:
        print(f"error: reading {key} from {redact_url(url)}: {exc}", file=sys.stderr)
        return 1
    if args.out:
        with open(args.out, "w", encoding="utf-8-sig", newline="") as f:
            f.write(text)
        rows = text.count("\r\n") - 1
        print(f"{rows} intervals of {key} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(sub) -> None:
    export = sub.add_parser("export", help="export stored results (interval bins as CSV)")
    what = export.add_subparsers(dest="what", required=True)
    b = what.add_parser(
        "bins",
        help="turning-movement bins from the Redis stream as CSV: a row per interval, a column per movement and class",
    )
    b.add_argument("--from", dest="from_", required=True, metavar="ISO", help="first interval, e.g. 2025-03-01T07:00Z")
    b.add_argument("--to", required=True, metavar="ISO", help="end of the range (exclusive)")
    b.add_argument("--redis-url", help="Redis server (default: bridge.redis_url of the config)")
    b.add_argument("--stream", metavar="KEY", help="stream key (default: argos:<site>:<device>:<camera> of the config)")
    b.add_argument("--out", metavar="FILE.csv", help="write here (UTF-8 with BOM for Excel); default: stdout")
    b.add_argument(
        "--interval-min",
        type=int,
        choices=BIN_MINUTES,
        help="row length in minutes, a multiple of the stored bins' (default: the stored bins')",
    )
    b.add_argument("--local", action="store_true", help="times in this machine's local time (default UTC)")
    b.add_argument("--config", help="parameter file (default: config/edge.yaml): stream key, movement and class order")
    b.add_argument("--namespace", help="camera namespace in the config (default: its first camera)")
    b.set_defaults(func=cmd_export_bins)
