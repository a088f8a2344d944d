"""Health levels of the ARGOS nodes (the diagnostic_msgs levels, without ROS types)."""

OK, WARN, ERROR, STALE = 0, 1, 2, 3
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR", STALE: "STALE"}


def worst(*checks: tuple[int, str]) -> tuple[int, str]:
    """The most severe (level, message); messages of equally severe problems are joined."""
    level = max((lvl for lvl, _ in checks), default=OK)
    messages = [msg for lvl, msg in checks if lvl == level and msg]
    return level, "; ".join(messages) if messages else "ok"
