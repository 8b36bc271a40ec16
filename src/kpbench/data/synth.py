"""Synthetic faces: procedurally drawn 96x96 grayscale faces with exactly known keypoints.

Each face is a canonical cartoon face (head ellipse, eyes with pupils, brows,
nose, mouth) with its own expression, placed by an affine map
``pixel = origin + shift + scale * R(angle) @ (u, v)``; the keypoints go through
the same map, so they land on the drawn features. Keypoints follow FaceSet's
convention (pixel column j covers [j, j+1), centre x=j+0.5); the drawing code
centres pixel j on x=j, and _synth_full adds the 0.5. Left/right follow Kaggle: the subject's left eye has the
larger x (u > 0).

Rendering is vectorised over a batch of faces: the head and lighting on the
whole frame, each small feature in a window around it on a padded canvas
(windows never clip, so gather/scatter never collide).
"""

from __future__ import annotations

import numpy as np

from kpbench.data.faceset import COMMON_KEYPOINTS, IMAGE_SIZE, KEYPOINT_NAMES, SYNTHETIC, FaceSet

DEFAULT_ROWS = 2000
DEFAULT_SEED = 0
# Kaggle: 2140 of 7049 training rows carry all 15 keypoints; the rest only the common four.
COMPLETE_FRACTION = 0.31

_PAD = 24  # canvas margin so that feature windows never leave the canvas
_CANVAS = IMAGE_SIZE + 2 * _PAD
_BATCH = 128  # faces rendered together: keeps the working arrays in cache
_ORIGIN = (48.0, 50.0)  # canonical (0, 0) in pixels: eyes near y=37.5, like Kaggle's mean face


def synth_faces(rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, *, complete_fraction: float = COMPLETE_FRACTION) -> FaceSet:
    """``rows`` synthetic training faces, deterministic for ``seed``, with Kaggle's missing-label pattern.

    About ``complete_fraction`` of the rows carry all 15 keypoints; the others
    only COMMON_KEYPOINTS (the rest NaN), as in Kaggle's training.csv.
    """
    faces = _synth_full(rows, np.random.default_rng(seed))
    rng = np.random.default_rng([seed, 1])  # separate stream: the pattern doesn't shift the faces
    keypoints = faces.keypoints.copy()
    partial = np.ones(rows, bool)
    partial[rng.permutation(rows)[: int(round(complete_fraction * rows))]] = False
    rare = [i for i, n in enumerate(KEYPOINT_NAMES) if n not in COMMON_KEYPOINTS]
    keypoints[np.ix_(partial, rare)] = np.nan
    meta = {"load": SYNTHETIC, "synthetic": True, "synthetic_rows": rows, "synthetic_seed": seed}
    return FaceSet(images=faces.images, keypoints=keypoints, source=f"{SYNTHETIC}:{rows}:{seed}", meta=meta)


def synth_test_faces(rows: int, seed: int) -> tuple[FaceSet, np.ndarray]:
    """Unlabelled test faces (ImageId 1..rows) and their true keypoints (rows, 15, 2)."""
    faces = _synth_full(rows, np.random.default_rng([seed, 2]))
    ids = np.arange(1, rows + 1, dtype=np.int64)
    return FaceSet(images=faces.images, keypoints=None, image_ids=ids, source=f"{SYNTHETIC}-test:{rows}:{seed}",
                   meta={"synthetic": True, "synthetic_rows": rows, "synthetic_seed": seed}), faces.keypoints


# --- drawing ---------------------------------------------------------------


def _synth_full(rows: int, rng: np.random.Generator) -> FaceSet:
    """All 15 keypoints for every row."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    p = _draw_params(rows, rng)
    centres = _to_pixels(p, _canonical_keypoints(p))  # drawing coordinates: pixel j centred at x=j
    images = np.empty((rows, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for a in range(0, rows, _BATCH):
        b = min(rows, a + _BATCH)
        images[a:b] = _render({k: v[a:b] for k, v in p.items()}, centres[a:b], rng)
    return FaceSet(images=images, keypoints=centres + np.float32(0.5))  # FaceSet's: pixel j covers [j, j+1)


def _draw_params(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(np.float32)  # noqa: E731
    return {
        # pose
        "scale": u(0.86, 1.1),
        "angle": np.clip(rng.normal(0, 0.12, n), -0.26, 0.26).astype(np.float32),  # radians, ~±15°
        "tx": u(-4, 4),
        "ty": u(-3.5, 3.5),
        # geometry and expression (canonical units = pixels at scale 1)
        "eye_dx": u(16.5, 19.5),  # half the distance between the eyes
        "eye_y": u(-13.5, -11.5),
        "eye_w": u(6.0, 7.5),  # half width of the eye; its corners are the ends
        "eye_h": u(2.6, 3.8),  # eye openness
        "pupil_r": u(2.2, 2.8),
        "gaze_x": u(-1.2, 1.2),
        "gaze_y": u(-0.5, 0.5),
        "brow_raise": u(-1.5, 3.0),
        "brow_frown": u(-1.5, 1.5),  # inner ends lower (+) or higher (-)
        "brow_in": u(6.5, 9.5),
        "brow_out": u(29.0, 32.0),
        "brow_t": u(1.3, 2.1),  # half thickness
        "nose_x": u(-1.0, 1.0),
        "nose_y": u(11.0, 14.0),
        "mouth_y": u(25.5, 28.0),
        "mouth_w": u(12.0, 16.5),
        "smile": u(-1.0, 3.0),  # corners up
        "mouth_open": (rng.uniform(0, 1, n) ** 2 * 6).astype(np.float32),
        # appearance
        "skin": u(120, 205),
        "bg": u(20, 235),
        "bg_grad": u(-40, 40),
        "hair": np.where(rng.random(n) < 0.6, rng.uniform(15, 80, n), -1).astype(np.float32),
        "dark": u(20, 60),  # pupils, brows
        "light_gain": u(0.75, 1.15),
        "light_grad": u(-0.3, 0.3),
        "light_dir": u(0, 2 * np.pi),
        "noise": u(0.5, 5.0),
        # an occluding rectangle (hand, microphone ...) on some faces
        "occ": (rng.random(n) < 0.15).astype(np.float32),  # 1 = occluded
        "occ_x": u(0, 96),
        "occ_y": u(0, 96),
        "occ_w": u(6, 16),
        "occ_h": u(5, 12),
        "occ_v": u(10, 245),
    }


def _canonical_keypoints(p: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 15, 2) keypoints in canonical (u, v) face coordinates."""
    ex, ey, ew = p["eye_dx"], p["eye_y"], p["eye_w"]
    gx, gy = p["gaze_x"], p["gaze_y"]
    by = -21.0 - p["brow_raise"]
    bi, bo, fr = p["brow_in"], p["brow_out"], p["brow_frown"]
    mw, my, sm, op = p["mouth_w"], p["mouth_y"], p["smile"], p["mouth_open"]
    pts = {
        "left_eye_center": (ex + gx, ey + gy),
        "right_eye_center": (-ex + gx, ey + gy),
        "left_eye_inner_corner": (ex - ew, ey),
        "left_eye_outer_corner": (ex + ew, ey),
        "right_eye_inner_corner": (-ex + ew, ey),
        "right_eye_outer_corner": (-ex - ew, ey),
        "left_eyebrow_inner_end": (bi, by + fr),
        "left_eyebrow_outer_end": (bo, by + 1.0),
        "right_eyebrow_inner_end": (-bi, by + fr),
        "right_eyebrow_outer_end": (-bo, by + 1.0),
        "nose_tip": (p["nose_x"], p["nose_y"]),
        "mouth_left_corner": (mw, my - sm),
        "mouth_right_corner": (-mw, my - sm),
        "mouth_center_top_lip": (0 * mw, my - 1.5 - 0.3 * op),
        "mouth_center_bottom_lip": (0 * mw, my + 2.5 + op),
    }
    return np.stack([np.stack(pts[n], axis=-1) for n in KEYPOINT_NAMES], axis=1).astype(np.float32)


def _to_pixels(p: dict[str, np.ndarray], uv: np.ndarray) -> np.ndarray:
    s, c, sn = p["scale"][:, None], np.cos(p["angle"])[:, None], np.sin(p["angle"])[:, None]
    u, v = uv[..., 0], uv[..., 1]
    x = _ORIGIN[0] + p["tx"][:, None] + s * (c * u - sn * v)
    y = _ORIGIN[1] + p["ty"][:, None] + s * (sn * u + c * v)
    return np.stack([x, y], axis=-1).astype(np.float32)


def _render(p: dict[str, np.ndarray], kp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 96, 96) uint8: the head on its background, the features painted on, then lighting and noise."""
    n = len(p["scale"])
    g = np.arange(IMAGE_SIZE, dtype=np.float32)
    X, Y = g[None, None, :], g[:, None][None]
    canvas = np.zeros((n, _CANVAS, _CANVAS), np.float32)
    canvas[:, _PAD:-_PAD, _PAD:-_PAD] = _head(p, X, Y)
    _paint_features(p, kp, canvas.reshape(n, -1))
    return _light_and_noise(p, canvas[:, _PAD:-_PAD, _PAD:-_PAD].copy(), X, Y, rng)


def _col(a: np.ndarray) -> np.ndarray:
    return a[:, None, None]  # (N,) -> broadcast over a frame


def _head(p: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Background with a gradient, then the head (and hair on some), on the whole frame."""
    n, col = len(p["scale"]), _col
    frame = np.broadcast_to(col(p["bg"]) + col(p["bg_grad"]) * (X - 48) / 48, (n, IMAGE_SIZE, IMAGE_SIZE)).copy()
    U, V = _inverse(p, X, Y)
    r2 = (U / 40) ** 2 + ((V - 2) / 50) ** 2
    head = _soft(np.sqrt(r2), 1.0, 40 * col(p["scale"]))
    skin = col(p["skin"]) * (1 - 0.18 * np.minimum(r2, 1))  # darker towards the edge: roundness
    frame += head * (skin - frame)
    h = np.flatnonzero(p["hair"] >= 0)  # a dark cap above a curved hairline on some faces
    Uh = U[h]
    hair = head[h] * _soft(V[h], -35 + 0.008 * Uh * Uh, col(p["scale"][h]))
    frame[h] += hair * (col(p["hair"][h]) - frame[h])
    return frame


def _paint_features(p: dict[str, np.ndarray], kp: np.ndarray, flat: np.ndarray) -> None:
    """Eyes, brows, nose and mouth, each in a window around its keypoints, onto the flat padded canvas."""
    canon = _canonical_keypoints(p)
    ks = {name: i for i, name in enumerate(KEYPOINT_NAMES)}
    skin1, dark = p["skin"][:, None], p["dark"][:, None]
    for side in ("left", "right"):
        sx = 1.0 if side == "left" else -1.0
        centre = kp[:, [ks[f"{side}_eye_inner_corner"], ks[f"{side}_eye_outer_corner"]]].mean(axis=1)
        u, v, idx = _window(p, centre, 20)
        du, dv = u - sx * p["eye_dx"][:, None], v - p["eye_y"][:, None]
        r = np.sqrt((du / p["eye_w"][:, None]) ** 2 + (dv / p["eye_h"][:, None]) ** 2)
        _paint(flat, idx, _soft(r, 1.0, p["eye_h"][:, None] * p["scale"][:, None]), np.minimum(skin1 + 60, 240))
        pu, pv = canon[:, ks[f"{side}_eye_center"], 0][:, None], canon[:, ks[f"{side}_eye_center"], 1][:, None]
        pr = np.sqrt((u - pu) ** 2 + (v - pv) ** 2)
        inside = _soft(r, 1.0, p["eye_h"][:, None] * p["scale"][:, None])  # the lids cover the iris
        _paint(flat, idx, inside * _soft(pr, p["pupil_r"][:, None], p["scale"][:, None]), dark)

        a, b = canon[:, ks[f"{side}_eyebrow_inner_end"]], canon[:, ks[f"{side}_eyebrow_outer_end"]]
        u, v, idx = _window(p, _to_pixels(p, ((a + b) / 2)[:, None])[:, 0], 34)
        d = _segment_distance(u, v, a, b)
        _paint(flat, idx, _soft(d, p["brow_t"][:, None], p["scale"][:, None]), dark + 15)

    # nose: a soft shadow above the tip and two nostrils beside it
    tip = canon[:, ks["nose_tip"]]
    u, v, idx = _window(p, kp[:, ks["nose_tip"]], 20)
    du, dv = u - tip[:, 0:1], v - tip[:, 1:2]
    shadow = _soft(np.sqrt((du / 5.5) ** 2 + ((dv + 3) / 6) ** 2), 1.0, 4 * p["scale"][:, None])
    _paint(flat, idx, 0.25 * shadow, skin1 * 0.6)
    for sx in (-1.0, 1.0):
        nr = np.sqrt(((du - 3.0 * sx) / 1.7) ** 2 + ((dv + 0.3) / 1.1) ** 2)
        _paint(flat, idx, _soft(nr, 1.0, 1.1 * p["scale"][:, None]), skin1 * 0.35)

    # mouth: the region between two parabolas through the corners and the lip centres
    corner, top, bottom = canon[:, ks["mouth_left_corner"]], canon[:, ks["mouth_center_top_lip"]], canon[:, ks["mouth_center_bottom_lip"]]
    u, v, idx = _window(p, _to_pixels(p, ((corner + canon[:, ks["mouth_right_corner"]]) / 2)[:, None])[:, 0], 42)
    mw, cv = corner[:, 0:1], corner[:, 1:2]
    w = np.clip(1 - (u / mw) ** 2, 0, 1)
    vt, vb = cv + (top[:, 1:2] - cv) * w, cv + (bottom[:, 1:2] - cv) * w
    outside = np.maximum(np.maximum(vt - v, v - vb), np.abs(u) - mw)
    _paint(flat, idx, _soft(outside, 0.0, p["scale"][:, None]), skin1 * 0.45)


def _light_and_noise(p: dict[str, np.ndarray], img: np.ndarray, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    col = _col
    # lighting: overall gain and a linear gradient across the face (separable in x and y)
    gain, grad, ld = col(p["light_gain"]), col(p["light_grad"]), p["light_dir"]
    img *= gain * (1 + grad * (X - 48) * col(np.cos(ld)) / 48) + gain * grad * (Y - 48) * col(np.sin(ld)) / 48
    # occluder: a soft-edged rectangle in front of some faces
    o = np.flatnonzero(p["occ"] > 0)
    ox = np.abs(X - col(p["occ_x"][o])) - col(p["occ_w"][o])
    oy = np.abs(Y - col(p["occ_y"][o])) - col(p["occ_h"][o])
    occ = np.clip(0.5 - np.maximum(ox, oy), 0, 1)
    img[o] += occ * (col(p["occ_v"][o]) - img[o])
    noise = rng.random(img.shape, dtype=np.float32)  # uniform: cheaper than normal, same std
    noise -= 0.5
    noise *= col(p["noise"]) * np.float32(12**0.5)
    img += noise
    np.rint(img, out=img)
    np.clip(img, 0, 255, out=img)
    return img.astype(np.uint8)


def _inverse(p: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (u, v) of pixel coordinates X, Y (broadcast against (N, 1, 1) or (N, 1))."""
    shape = (-1,) + (1,) * (max(X.ndim, Y.ndim) - 1)
    s, c, sn = (a.reshape(shape) for a in (p["scale"], np.cos(p["angle"]), np.sin(p["angle"])))
    dx = X - _ORIGIN[0] - p["tx"].reshape(shape)
    dy = Y - _ORIGIN[1] - p["ty"].reshape(shape)
    return (c * dx + sn * dy) / s, (-sn * dx + c * dy) / s


def _window(p: dict[str, np.ndarray], centre_px: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Canonical coords (N, size²) and flat canvas indices of a size×size window per face."""
    lo, hi = -_PAD, IMAGE_SIZE + _PAD - size
    x0 = np.clip(np.rint(centre_px[:, 0]).astype(np.int64) - size // 2, lo, hi)
    y0 = np.clip(np.rint(centre_px[:, 1]).astype(np.int64) - size // 2, lo, hi)
    r = np.arange(size)
    xs = (x0[:, None, None] + r[None, None, :]) + 0 * r[None, :, None]
    ys = (y0[:, None, None] + r[None, :, None]) + 0 * r[None, None, :]
    xs, ys = xs.reshape(len(x0), -1), ys.reshape(len(x0), -1)
    u, v = _inverse(p, xs.astype(np.float32), ys.astype(np.float32))
    return u, v, (ys + _PAD) * _CANVAS + (xs + _PAD)


def _paint(flat: np.ndarray, idx: np.ndarray, alpha: np.ndarray, value: np.ndarray) -> None:
    cur = np.take_along_axis(flat, idx, 1)
    np.put_along_axis(flat, idx, cur + alpha * (value - cur), 1)


def _soft(d: np.ndarray, edge: np.ndarray | float, px_per_unit: np.ndarray | float) -> np.ndarray:
    """Coverage of ``d < edge`` with a one-pixel anti-aliased rim (d in canonical units; any broadcastable arrays)."""
    return np.clip(0.5 - (d - edge) * px_per_unit, 0, 1)


def _segment_distance(u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from (u, v) to the segment a-b (a, b: (N, 2))."""
    ax, ay, bx, by = a[:, 0:1], a[:, 1:2], b[:, 0:1], b[:, 1:2]
    dx, dy = bx - ax, by - ay
    t = np.clip(((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy), 0, 1)
    return np.sqrt((u - ax - t * dx) ** 2 + (v - ay - t * dy) ** 2)
