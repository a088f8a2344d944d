"""JSON payloads that leave the edge (Redis stream entries and MQTT messages), version 2.

Versions: 1 had detections, count, totals and status. 2 adds the movement and bin payloads
(Redis entry types "movement" and "bin", MQTT .../movements and .../bins); every field of
version 1 is unchanged, so a version-1 reader only needs to accept the number.

Every payload is a flat-ish JSON object with these common fields:

    schema_version  int     SCHEMA_VERSION; bumped on any incompatible change
    site            str     `site` parameter
    device          str     `device` parameter
    camera          str     `camera` parameter
    timestamp       str     ISO-8601 UTC with milliseconds, e.g. "2025-03-01T12:00:00.123Z"
    stamp_ns        int     the same instant in nanoseconds since the Unix epoch (exact)

For detections and counts the instant is the capture time of the frame (ROS header.stamp);
for totals it is the end of the interval; for status it is when the payload was made.

Detections (Redis entry type "tracks", MQTT <prefix>/<site>/<device>/<camera>/detections).
Keeps the field names of the field report's data model so existing Telegraf json_v2 /
starlark configurations keep working:

    frame_id                str    ROS header.frame_id of the camera
    detection_frame_number  int    the bridge's running number of tracks messages, 0-based,
                                   counted on arrival (the ROS message carries no frame number;
                                   `bridge_frame` in the code).
                                   Resets when the bridge restarts; a gap means the bridge
                                   dropped messages under overload (see stats queue_dropped)
                                   or, on MQTT, that only every Nth frame is published.
    total_num_obj           int    len(inference_results)
    inference_results       list   one object per tracked box:
        classID        int    index of `label` in the `classes` parameter; -1 if not listed
        label          str    class label
        confidence     float  score in [0, 1], 4 decimals
        coor_left      float  x of the box's top-left corner, source-image pixels, 2 decimals
        coor_top       float  y of the box's top-left corner, source-image pixels, 2 decimals
        box_width      float  pixels, 2 decimals
        box_height     float  pixels, 2 decimals
        objectID       str    track id from the tracker (Detection2D.id); "" if untracked
        unique_com_id  str    "<camera>-<detection_frame_number>-<index>": unique per detection
                              over one bridge run (the Telegraf starlark tag of the field report)

Count (Redis entry type "count", MQTT .../counts), one per counted crossing:

    count_seq      int    the bridge's running number of count events, 0-based
    frame_number   int    the tracker's frame number of the crossing (CountEvent.tracker_frame: 1-based
                          number of the detections message among those the tracker processed; resets
                          when the tracker restarts). Named frame_number since schema_version 1.
    line_id        str    counting line
    lane           str    lane label of the crossed segment ("" if none)
    class_id       str    class label
    classID        int    index of class_id in `classes`; -1 if not listed
    direction      str    "in" | "out" (see argos_common.lines)
    track_id       str    track id
    speed_px_s     float|null  anchor speed at crossing, pixels/s; null when unknown
    speed_m_s      float|null  the same in m/s; null when unknown (no calibration)
    epoch          int    the tracker's counting epoch of the crossing: 0 for the lines and zones it
                          started with, +1 for each change made while it runs (`ros2 param set`);
                          counts of different epochs were made on different geometry. Added in
                          schema_version 1 (readers that ignore unknown fields are unaffected)

Totals (Redis entry type "totals", MQTT .../totals), every `totals_interval_s` and on shutdown:

    started_at      str    ISO time the bridge started counting ("since start" refers to it)
    interval_start  str    ISO time the interval began (its end is `timestamp`)
    interval_s      float  interval length in seconds
    epoch           int    the counting epoch these totals belong to (see the count payload). When
                           the tracker announces a new one, the bridge closes the current interval
                           with a totals payload of the old epoch, and the table starts again
    epoch_started_at str   ISO time the epoch began (epoch 0: started_at)
    total           int    all counts since the epoch began (epoch 0: since start)
    interval_total  int    all counts in the interval
    totals          list   one row per (line_id, lane, class_id, direction) seen in the epoch:
        line_id, lane, class_id, classID, direction   as in the count payload
        total     int  since the epoch began
        interval  int  in this interval (0 for a quiet one)
    A count of an epoch already closed (it arrived after the announcement of the next) is sent as
    a count payload with its epoch but is in no totals (bridge stats counts_of_closed_epochs).

Movement (Redis entry type "movement", MQTT .../movements), one per turning movement of a
tracked object, or incomplete one (argos_common.movements); the instant is its exit (vanished:
when it was given up; no_entry: its exit):

    movement_seq     int    the bridge's running number of movement events, 0-based
    movement         str    movement name: the configured label (e.g. "WBT") or "<from_line>-><to_line>";
                            for an incomplete one its reason
    status           str    "complete" | "incomplete"
    reason           str    "" | "u_turn" | "vanished" | "no_entry"
    from_line, from_lane, to_line, to_lane   str   approach lines and lanes ("" when none)
    class_id, classID                        as in the count payload
    track_id         str    the track that entered (no_entry: the one that left)
    linked_track_id  str    the re-found track that left when the track broke inside ("" otherwise)
    entered_at, left_at      str|null   ISO times of the entry and exit crossings (null when none)
    entered_ns, left_ns      int        the same in ns (0 when none)
    speed_px_s, speed_m_s    float|null mean of the entry and exit crossing speeds
    bin_start        str    ISO start of the interval bin it is counted in (by its entry)
    interval_min     int    the bin length

Bin (Redis entry type "bin", MQTT .../bins), one per interval bin when it closes and again,
with the next revision, whenever a late event changes it (argos_common.bins); the instant is
the publication:

    bin_start, bin_end   str   ISO interval [start, end), aligned to the clock (15 min: :00, :15, ...)
    bin_start_ns         int   bin_start in ns
    interval_min         int   1 | 5 | 15 | 60
    revision             int   1 for the first publication, +1 for each change after it
    total_movements      int   sum of movements[].count
    total_incomplete     int   sum of incomplete[].count
    movements   list   one row per (movement, class) with a count: movement, class_id, classID, count
    incomplete  list   one row per (reason, line, class): reason, line_id (entry line; exit line for
                       no_entry), class_id, classID, count
    lines       list   crossings of every counting line: line_id, lane, direction, class_id,
                       classID, count
    A quiet interval is published with empty lists. Rows are sorted; a reader that keeps the
    highest revision per (camera, bin_start) has the current counts.

Status (MQTT .../status only, retained):

    state   str   "online" (published on every connect, refreshed every totals interval) | "offline"
    health  obj   (online only) compact health of the unit's bridge: level (OK/WARN/ERROR),
                  message, and the loss counters queue_dropped, mqtt_spool_depth,
                  mqtt_spool_dropped, redis_buffer_depth, redis_dropped (as of the last refresh)
    reason  str   "connected" | "connection_lost" (the broker's last will: the bridge vanished
                  without saying goodbye) | "shutdown" (orderly close)
    For the last will, `timestamp` is when the MQTT session was set up (the broker publishes it
    later, unchanged).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from argos_common.bins import BinSnapshot, bin_start_ns
from argos_common.counts import CountRecord, TotalsKey
from argos_common.detections import Detections
from argos_common.movements import MovementRecord

SCHEMA_VERSION = 2

STATE_ONLINE = "online"
STATE_OFFLINE = "offline"


def iso_utc_ms(stamp_ns: int) -> str:
    seconds, rest = divmod(int(stamp_ns), 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1_000_000:03d}Z"


def class_index(classes: Sequence[str], label: str) -> int:
    try:
        return classes.index(label)
    except ValueError:
        return -1


def _header(site: str, device: str, camera: str, stamp_ns: int) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "site": site,
        "device": device,
        "camera": camera,
        "timestamp": iso_utc_ms(stamp_ns),
        "stamp_ns": int(stamp_ns),
    }


def _speed(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def detections_payload(
    *,
    site: str,
    device: str,
    camera: str,
    stamp_ns: int,
    frame_id: str,
    bridge_frame: int,
    dets: Detections,
    classes: Sequence[str],
) -> dict[str, Any]:
    classes = list(classes)
    results = []
    # tolist() once: per-element numpy scalars are slow and not JSON-serialisable
    for i, ((x1, y1, x2, y2), score, label, object_id) in enumerate(
        zip(dets.boxes.tolist(), dets.scores.tolist(), dets.labels, dets.ids)
    ):
        results.append(
            {
                "classID": class_index(classes, label),
                "label": label,
                "confidence": round(score, 4),
                "coor_left": round(x1, 2),
                "coor_top": round(y1, 2),
                "box_width": round(x2 - x1, 2),
                "box_height": round(y2 - y1, 2),
                "objectID": str(object_id),
                "unique_com_id": f"{camera}-{bridge_frame}-{i}",
            }
        )
    payload = _header(site, device, camera, stamp_ns)
    payload.update(
        {
            "frame_id": frame_id,
            "detection_frame_number": int(bridge_frame),
            "total_num_obj": len(results),
            "inference_results": results,
        }
    )
    return payload


def count_payload(
    *, site: str, device: str, camera: str, record: CountRecord, count_seq: int, classes: Sequence[str]
) -> dict[str, Any]:
    payload = _header(site, device, camera, record.stamp_ns)
    payload.update(
        {
            "count_seq": int(count_seq),
            "frame_number": int(record.tracker_frame),
            "line_id": record.line_id,
            "lane": record.lane,
            "class_id": record.class_id,
            "classID": class_index(list(classes), record.class_id),
            "direction": record.direction,
            "track_id": record.track_id,
            "speed_px_s": _speed(record.speed_px_s),
            "speed_m_s": _speed(record.speed_m_s),
            "epoch": int(record.epoch),
        }
    )
    return payload


def totals_payload(
    *,
    site: str,
    device: str,
    camera: str,
    started_ns: int,
    interval_start_ns: int,
    now_ns: int,
    rows: Iterable[tuple[TotalsKey, int, int]],
    classes: Sequence[str],
    epoch: int = 0,
    epoch_started_ns: int | None = None,
) -> dict[str, Any]:
    classes = list(classes)
    table: list[dict[str, Any]] = [
        {
            "line_id": line_id,
            "lane": lane,
            "class_id": class_id,
            "classID": class_index(classes, class_id),
            "direction": direction,
            "total": int(total),
            "interval": int(interval),
        }
        for (line_id, lane, class_id, direction), total, interval in rows
    ]
    payload = _header(site, device, camera, now_ns)
    payload.update(
        {
            "started_at": iso_utc_ms(started_ns),
            "interval_start": iso_utc_ms(interval_start_ns),
            "interval_s": round((now_ns - interval_start_ns) / 1e9, 3),
            "epoch": int(epoch),
            "epoch_started_at": iso_utc_ms(started_ns if epoch_started_ns is None else epoch_started_ns),
            "total": sum(r["total"] for r in table),
            "interval_total": sum(r["interval"] for r in table),
            "totals": table,
        }
    )
    return payload


def movement_payload(
    *,
    site: str,
    device: str,
    camera: str,
    record: MovementRecord,
    movement_seq: int,
    classes: Sequence[str],
    interval_min: int,
) -> dict[str, Any]:
    payload = _header(site, device, camera, record.left_ns or record.entered_ns)
    payload.update(
        {
            "movement_seq": int(movement_seq),
            "movement": record.movement,
            "status": record.status,
            "reason": record.reason,
            "from_line": record.from_line,
            "from_lane": record.from_lane,
            "to_line": record.to_line,
            "to_lane": record.to_lane,
            "class_id": record.class_id,
            "classID": class_index(list(classes), record.class_id),
            "track_id": record.track_id,
            "linked_track_id": record.linked_track_id,
            "entered_at": iso_utc_ms(record.entered_ns) if record.entered_ns else None,
            "left_at": iso_utc_ms(record.left_ns) if record.left_ns else None,
            "entered_ns": int(record.entered_ns),
            "left_ns": int(record.left_ns),
            "speed_px_s": _speed(record.speed_px_s),
            "speed_m_s": _speed(record.speed_m_s),
            "bin_start": iso_utc_ms(bin_start_ns(record.bin_stamp_ns, int(interval_min) * 60_000_000_000)),
            "interval_min": int(interval_min),
        }
    )
    return payload


def bin_payload(
    *, site: str, device: str, camera: str, snapshot: BinSnapshot, now_ns: int, classes: Sequence[str]
) -> dict[str, Any]:
    classes = list(classes)
    movements = [
        {"movement": m, "class_id": c, "classID": class_index(classes, c), "count": int(n)}
        for (m, c), n in sorted(snapshot.movements.items())
    ]
    incomplete = [
        {"reason": r, "line_id": line, "class_id": c, "classID": class_index(classes, c), "count": int(n)}
        for (r, line, c), n in sorted(snapshot.incomplete.items())
    ]
    lines = [
        {
            "line_id": line,
            "lane": lane,
            "direction": d,
            "class_id": c,
            "classID": class_index(classes, c),
            "count": int(n),
        }
        for (line, lane, d, c), n in sorted(snapshot.lines.items())
    ]
    payload = _header(site, device, camera, now_ns)
    payload.update(
        {
            "bin_start": iso_utc_ms(snapshot.start_ns),
            "bin_end": iso_utc_ms(snapshot.end_ns),
            "bin_start_ns": int(snapshot.start_ns),
            "interval_min": int(round((snapshot.end_ns - snapshot.start_ns) / 60e9)),
            "revision": int(snapshot.revision),
            "total_movements": sum(snapshot.movements.values()),
            "total_incomplete": sum(snapshot.incomplete.values()),
            "movements": movements,
            "incomplete": incomplete,
            "lines": lines,
        }
    )
    return payload


def status_payload(
    *,
    state: str,
    reason: str,
    site: str,
    device: str,
    camera: str,
    stamp_ns: int,
    health: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    if state not in (STATE_ONLINE, STATE_OFFLINE):
        raise ValueError(f"status state must be {STATE_ONLINE} or {STATE_OFFLINE}, got {state!r}")
    payload = _header(site, device, camera, stamp_ns)
    payload.update({"state": state, "reason": reason})
    if health is not None:
        payload["health"] = dict(health)
    return payload


def to_json(payload: Mapping[str, Any]) -> str:
    """Compact JSON; NaN/Infinity are refused because they are not JSON (builders emit null)."""
    return json.dumps(payload, separators=(",", ":"), allow_nan=False)
