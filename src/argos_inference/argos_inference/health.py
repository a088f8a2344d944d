"""Inference health for /diagnostics, from InferenceNode.stats()."""

from argos_common.health import OK, WARN, worst


def health(stats: dict) -> tuple[int, str]:
    checks = [(OK, f"{stats.get('engine', '?')}: {stats.get('infer_ms_mean', 0.0):.1f} ms/frame")]
    if stats.get("errors", 0):
        checks.append((WARN, f"{stats['errors']} frames failed in the detector"))
    return worst(*checks)
