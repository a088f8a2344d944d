"""Camera views of the synthetic intersection for the evaluations: which exist, the scene seen
from one, and the tracker's counting lines as that view's image shows them.

The counting lines are configured on the top view (config/edge.yaml), and the scene tests its
ground-truth crossings against them on the road; ground truth (boxes, crossings, movements)
means the same in every view. What changes with the view is the image, so the tracker counts on
`IntersectionScene.view_lines`: the same lines as the view's image shows them (the top view's
are the configured ones). The pole view comes with argos_sim's `view` argument; until this
argos_sim has it, asking for it is an error naming the option.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from argos_common.lines import IMAGE_SIZE_KEY, NORMALIZED_KEY, CountingLine, line_params

VIEWS = ("top", "pole")
DEFAULT_VIEW = "top"
FPS = 15.0
SIZE = (1280, 720)


def _scene_has_views() -> bool:
    from argos_sim import IntersectionScene

    return "view" in inspect.signature(IntersectionScene).parameters


def check_view(view: str, option: str = "--views") -> None:
    """ValueError naming `option` for a view that is unknown or that this argos_sim cannot render."""
    if view not in VIEWS:
        raise ValueError(f"{option} {view}: unknown view (known: {', '.join(VIEWS)})")
    if view != DEFAULT_VIEW and not _scene_has_views():
        raise ValueError(
            f"{option} {view}: this argos_sim renders only the {DEFAULT_VIEW} view "
            "(its IntersectionScene takes no `view` yet)"
        )


def parse_views(text: str, option: str = "--views") -> tuple[str, ...]:
    """'top,pole' -> ('top', 'pole'), each checked (ValueError naming `option`)."""
    views = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    if not views:
        raise ValueError(f"{option}: name at least one view ({', '.join(VIEWS)})")
    for view in views:
        check_view(view, option)
    return views


def open_scene(
    view: str,
    seed: int,
    classes: Sequence[str],
    lines: Sequence[CountingLine],
    conditions: Sequence[str],
    render: bool,
):
    """The scene of `view` at the evaluations' size and rate; `lines` are the top view's."""
    from argos_sim import IntersectionScene

    check_view(view, "view")
    # an argos_sim without views renders the top view only, and takes no `view` argument
    by_view: dict[str, Any] = {"view": view} if _scene_has_views() else {}
    return IntersectionScene(
        SIZE[0], SIZE[1], FPS, seed, list(classes), list(lines), conditions=tuple(conditions), render=render, **by_view
    )


def view_tracker_params(scene, lines: Sequence[CountingLine], params: dict[str, Any]) -> dict[str, Any]:
    """`params` with the counting lines of the scene's view image (in its pixels, so no
    geometry scaling) and, when the scene knows its ground plane, its homography (speed in m/s).
    `lines`: what the scene was built with (the view lines of an argos_sim without views)."""
    out = {k: v for k, v in params.items() if not k.startswith("lines.")}
    out.update(line_params(getattr(scene, "view_lines", lines)))
    out[IMAGE_SIZE_KEY], out[NORMALIZED_KEY] = [], False
    homography = getattr(scene, "ground_homography", None)
    if homography is not None:
        out["ground_homography"] = [float(v) for v in np.asarray(homography, np.float64).ravel()]
    return out
