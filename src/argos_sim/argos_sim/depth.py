"""Painter's order for vertical prisms standing on the ground, seen by a camera above them all.

Sorting by distance alone gets long vehicles wrong (a bus beside a car is nearer at its rear
and farther at its front). Instead, for each pair whose image boxes overlap:
- footprints apart: some vertical plane separates them (separating axis test on the convex
  footprints); the prism on the camera's side of it may hide the other, never the reverse;
- footprints overlapping (a trailer riding over a tractor, a cabin on a body, a crown over a
  car): the one above is nearer to a camera that is higher than both.
The pairs give a partial order; a topological sort keeps far-to-near distance order wherever
the pairs leave it free (and breaks the rare cycle by distance).
"""

from __future__ import annotations

import heapq

import numpy as np

SEPARATION_EPS = 1e-6  # metres: touching footprints (a drawbar at a bumper) count as apart


def _pair_fronts(
    fa: np.ndarray, fb: np.ndarray, za: np.ndarray, zb: np.ndarray, camera_xy: np.ndarray, dist_a, dist_b
) -> np.ndarray:
    """For P pairs of footprints (P, K, 2) and z ranges (P, 2): True where A is in front of B."""
    polys = (fa, fb)
    axes = []
    for poly in polys:
        edges = np.roll(poly, -1, axis=1) - poly
        axes.append(np.stack([-edges[..., 1], edges[..., 0]], axis=-1))
    normals = np.concatenate(axes, axis=1)  # (P, 2K, 2)
    length = np.linalg.norm(normals, axis=-1)
    valid = length > 1e-9
    normals = normals / np.where(valid, length, 1.0)[..., None]
    pa = np.einsum("pad,pkd->pak", normals, fa)
    pb = np.einsum("pad,pkd->pak", normals, fb)
    min_a, max_a, min_b, max_b = pa.min(-1), pa.max(-1), pb.min(-1), pb.max(-1)
    b_beyond = min_b - max_a  # gap when B lies further along the axis than A
    a_beyond = min_a - max_b
    gap = np.where(valid, np.maximum(b_beyond, a_beyond), -np.inf)
    best = np.argmax(gap, axis=1)
    rows = np.arange(len(best))
    apart = gap[rows, best] >= -SEPARATION_EPS
    cam = np.einsum("pd,d->p", normals[rows, best], camera_xy)
    plane_after_a = (max_a[rows, best] + min_b[rows, best]) / 2.0
    plane_after_b = (max_b[rows, best] + min_a[rows, best]) / 2.0
    b_is_beyond = b_beyond[rows, best] >= a_beyond[rows, best]
    a_front_apart = np.where(b_is_beyond, cam < plane_after_a, cam > plane_after_b)
    a_above = za[:, 0] >= zb[:, 1] - SEPARATION_EPS
    b_above = zb[:, 0] >= za[:, 1] - SEPARATION_EPS
    a_front_stacked = np.where(a_above, True, np.where(b_above, False, dist_a < dist_b))
    return np.where(apart, a_front_apart, a_front_stacked)


def painter_order(footprints: np.ndarray, z_ranges: np.ndarray, boxes: np.ndarray, camera_xy: np.ndarray) -> list[int]:
    """Drawing order (far first) of N prisms: footprints (N, K, 2) convex, vertices in order (a
    repeated vertex is allowed), z_ranges (N, 2), image boxes (N, 4) x1 y1 x2 y2 (only pairs
    whose boxes overlap constrain each other)."""
    n = len(footprints)
    if n == 0:
        return []
    centroids = footprints.mean(axis=1)
    dist = np.hypot(*(centroids - camera_xy).T)
    rank = np.empty(n, np.int64)
    rank[np.argsort(-dist, kind="stable")] = np.arange(n)  # 0 = farthest
    overlap = (
        (boxes[:, None, 0] < boxes[None, :, 2])
        & (boxes[None, :, 0] < boxes[:, None, 2])
        & (boxes[:, None, 1] < boxes[None, :, 3])
        & (boxes[None, :, 1] < boxes[:, None, 3])
    )
    ia, ib = np.nonzero(np.triu(overlap, 1))
    successors: list[list[int]] = [[] for _ in range(n)]
    indegree = np.zeros(n, np.int64)
    if len(ia):
        a_front = _pair_fronts(
            footprints[ia], footprints[ib], z_ranges[ia], z_ranges[ib], camera_xy, dist[ia], dist[ib]
        )
        back = np.where(a_front, ib, ia)
        front = np.where(a_front, ia, ib)
        for b, f in zip(back.tolist(), front.tolist()):
            successors[b].append(f)
        indegree = np.bincount(front, minlength=n)
    heap = [(int(rank[i]), i) for i in range(n) if indegree[i] == 0]
    heapq.heapify(heap)
    done = np.zeros(n, bool)
    order: list[int] = []
    pending = sorted(range(n), key=lambda i: rank[i])  # cycle breaker: the farthest left
    cursor = 0
    while len(order) < n:
        if not heap:  # a cycle: free the farthest remaining prism
            while done[pending[cursor]]:
                cursor += 1
            i = pending[cursor]
            indegree[i] = 0
            heapq.heappush(heap, (int(rank[i]), i))
        _, i = heapq.heappop(heap)
        if done[i]:
            continue
        done[i] = True
        order.append(i)
        for j in successors[i]:
            indegree[j] -= 1
            if indegree[j] == 0 and not done[j]:
                heapq.heappush(heap, (int(rank[j]), j))
    return order
