"""Tracker health for /diagnostics, from TrackerNode.stats()."""

from argos_common.health import OK, WARN, worst


def health(stats: dict) -> tuple[int, str]:
    checks = [(OK, f"{stats.get('confirmed_tracks', 0)} confirmed tracks, {stats.get('counts_total', 0)} counts")]
    if stats.get("births_refused", 0):
        checks.append((WARN, f"{stats['births_refused']} new tracks refused (max_tracks reached)"))
    return worst(*checks)
