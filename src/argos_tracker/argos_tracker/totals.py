"""One-line text form of the running counts, for the tracker's periodic log."""
from __future__ import annotations

from typing import Mapping


def format_totals(totals: Mapping[tuple[str, str, str, str], int], occupancy: Mapping[str, int]) -> str:
    """'totals 12: west/eastbound car in=4 ...; occupancy box=3' with keys in a stable order."""
    parts = []
    for (line_id, lane, label, direction), count in sorted(totals.items()):
        where = f"{line_id}/{lane}" if lane else line_id
        parts.append(f"{where} {label} {direction}={count}")
    text = f"totals {sum(totals.values())}: " + (", ".join(parts) if parts else "none")
    if occupancy:
        text += "; occupancy " + ", ".join(f"{zone}={n}" for zone, n in sorted(occupancy.items()))
    return text
