"""Bridge health for /diagnostics, from BridgeNode.stats(): unreachable sinks and data loss."""

from argos_common.health import ERROR, OK, WARN, worst

# every way the bridge can lose a message, as named in its stats()
LOSS_COUNTERS = (
    "queue_dropped",
    "counts_dropped",
    "writer_errors",
    "mqtt_failed",
    "mqtt_spool_dropped",
    "mqtt_overflow_dropped",
    "mqtt_lost_at_shutdown",
    "redis_dropped",
    "redis_lost_at_shutdown",
    "queue_lost_at_shutdown",
)


def health(stats: dict) -> tuple[int, str]:
    checks = [(OK, f"{stats.get('mqtt_published', 0)} MQTT messages, {stats.get('redis_written', 0)} Redis entries")]
    mqtt_down, redis_down = not stats.get("mqtt_connected", 1), not stats.get("redis_connected", 1)
    if mqtt_down:
        checks.append(
            (WARN, f"MQTT broker unreachable (mqtt_url); spooling, {stats.get('mqtt_spool_depth', 0)} waiting")
        )
    if redis_down:
        checks.append((WARN, f"Redis unreachable (redis_url); buffering, {stats.get('redis_buffer_depth', 0)} waiting"))
    if mqtt_down and redis_down:
        checks.append((ERROR, "no sink reachable: MQTT and Redis are both down"))
    lost = {k: stats.get(k, 0) for k in LOSS_COUNTERS}
    if any(lost.values()):
        checks.append((WARN, "data dropped: " + ", ".join(f"{k} {v}" for k, v in lost.items() if v)))
    return worst(*checks)
