"""Camera health for /diagnostics, from CameraNode.stats()."""

from argos_common.health import ERROR, OK, WARN, worst


def health(stats: dict) -> tuple[int, str]:
    state, error = stats.get("source_state", ""), stats.get("last_error", "")
    checks = [(OK, f"{state}, {stats.get('fps', 0)} fps")]
    if state == "failed":
        checks.append((ERROR, f"source failed: {error}"))
    elif state in ("connecting", "reconnecting"):
        checks.append((WARN, f"source {state} ({stats.get('reconnects', 0)} reconnects): {error}".rstrip(": ")))
    return worst(*checks)
