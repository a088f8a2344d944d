"""Motion model: constant-velocity box filter, time steps from stamps, fixed gain, gating."""

import numpy as np
import pytest

from argos_tracker.motion_model import MotionConfig, MotionModel, box_to_z, boxes_to_z, states_to_boxes, z_to_box

FPS = 15.0


def box_at(cx, cy, w=40.0, h=18.0):
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def run_constant_velocity(model, stamps_s, vx, vy, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    f = model.create(box_at(100.0, 200.0))
    last = stamps_s[0]
    for t in stamps_s[1:]:
        f.predict(t - last)
        last = t
        f.update(np.array(box_at(100.0 + vx * t, 200.0 + vy * t)) + rng.normal(0.0, noise, 4))
    return f


@pytest.mark.parametrize("fixed_gain", [False, True])
def test_velocity_converges_to_true_pixels_per_second(fixed_gain):
    model = MotionModel(MotionConfig(fixed_gain=fixed_gain))
    stamps = np.arange(60) / FPS
    f = run_constant_velocity(model, stamps, vx=105.0, vy=-45.0, noise=1.0)
    vx, vy = f.velocity
    assert vx == pytest.approx(105.0, abs=8.0)
    assert vy == pytest.approx(-45.0, abs=8.0)


def test_time_step_comes_from_stamps_not_frame_count():
    # Frames arrive irregularly (drops of two frames now and then): a filter that assumed a
    # fixed frame interval would report a wrong speed.
    model = MotionModel(MotionConfig())
    stamps = np.cumsum([0.0] + [1 / FPS if i % 3 else 3 / FPS for i in range(1, 50)])
    f = run_constant_velocity(model, stamps, vx=90.0, vy=0.0)
    assert f.velocity[0] == pytest.approx(90.0, rel=0.02)
    # predicting half a second ahead lands where the object will be
    f.predict(0.5)
    cx = (f.box[0] + f.box[2]) / 2
    assert cx == pytest.approx(100.0 + 90.0 * (stamps[-1] + 0.5), abs=2.0)


def test_fixed_gain_is_the_steady_state_of_the_kalman_filter():
    model = MotionModel(MotionConfig(measurement_noise_px=2.0))
    f = MotionModel(MotionConfig(measurement_noise_px=2.0)).create(box_at(0.0, 0.0, 1.0, 1.0))
    for _ in range(400):
        f.predict(1 / FPS)
        f.update(box_at(0.0, 0.0, 1.0, 1.0))
    gain, _ = model.steady_state(1 / FPS)
    # the converged Kalman gain (1 px boxes: size-dependent noise negligible) is the DARE gain
    np.testing.assert_allclose(f.kf.K, gain, rtol=0.05, atol=1e-3)


def test_transition_scales_with_time_step():
    model = MotionModel(MotionConfig(accel_noise_px_s2=60.0))
    F1, Q1 = model.transition(1 / FPS)
    F2, Q2 = model.transition(2 / FPS)
    assert F1[0, 4] == pytest.approx(1 / FPS, rel=1e-2)
    assert F2[0, 4] == pytest.approx(2 / FPS, rel=1e-2)
    assert Q2[4, 4] > Q1[4, 4] > 0
    assert np.allclose(Q1, Q1.T)


def test_gate_widens_while_coasting():
    model = MotionModel(MotionConfig())
    f = run_constant_velocity(model, np.arange(30) / FPS, vx=100.0, vy=0.0)
    f.predict(1 / FPS)
    cx, cy = box_to_z(f.box)[:2]
    offset = np.array([box_at(cx, cy + 15.0)])
    near = np.array([box_at(cx, cy)])
    d_near = f.centre_gate_distance(near)[0]
    d_fresh = f.centre_gate_distance(offset)[0]
    for _ in range(14):
        f.predict(1 / FPS)
    cx, cy = box_to_z(f.box)[:2]
    d_coasted = f.centre_gate_distance(np.array([box_at(cx, cy + 15.0)]))[0]
    assert d_near < 0.5
    assert d_fresh > 13.8  # 15 px sideways is implausible one frame after a good fix
    assert d_coasted < d_fresh  # ... but less so after a second without detections


def test_box_size_never_collapses():
    model = MotionModel(MotionConfig())
    f = model.create(box_at(50.0, 50.0, 10.0, 10.0))
    for i in range(1, 10):  # shrinking quickly, then coasting a long time
        f.predict(1 / FPS)
        f.update(box_at(50.0, 50.0, 10.0 - i, 10.0 - i))
    for _ in range(60):
        f.predict(1 / FPS)
    x1, y1, x2, y2 = f.box
    assert x2 - x1 >= 1.0 and y2 - y1 >= 1.0


def test_fixed_gain_mode_switches_to_the_steady_state_gain_after_warm_up():
    model = MotionModel(MotionConfig(fixed_gain=True))
    f = model.create(box_at(0.0, 0.0))
    switched_at = None
    for i in range(1, 30):
        f.predict(1 / FPS)
        f.update(box_at(7.0 * i, 0.0))
        if f.fixed_gain_active and switched_at is None:
            switched_at = i
    assert switched_at is not None and 3 <= switched_at <= 15
    _, p_post = model.steady_state(1 / FPS)
    np.testing.assert_allclose(f.kf.P, p_post)  # covariance pinned to the steady state
    assert not MotionModel(MotionConfig(fixed_gain=False)).create(box_at(0, 0)).fixed_gain_active


@pytest.mark.parametrize(
    "config", [MotionConfig(), MotionConfig(constant_acceleration=True), MotionConfig(box_state="ah")]
)
def test_batched_prediction_is_filterpys_predict(config):
    # The tracker predicts all tracks at once; each must end where filterpy's own per-filter
    # predict would have put it, state and covariance.
    import copy

    model = MotionModel(config)
    rng = np.random.default_rng(3)
    filters = []
    for k in range(5):
        f = model.create(box_at(100.0 + 50 * k, 200.0, 20.0 + k, 12.0))
        for step in range(1, 4 + k):
            f.predict(1 / FPS)
            f.update(
                np.array(box_at(100.0 + 50 * k + 6 * step, 200.0 - 2 * step, 20.0 + k, 12.0)) + rng.normal(0.0, 0.5, 4)
            )
        filters.append(f)
    reference = [copy.deepcopy(f.kf) for f in filters]
    dt = 2 / FPS
    F, Q = model.transition(dt)
    for kf in reference:
        kf.predict(F=F, Q=Q)
    predicted = model.predict(filters, dt)
    for f, kf, row in zip(filters, reference, predicted.x):
        np.testing.assert_allclose(f.kf.x, kf.x, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(f.kf.P, kf.P, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(row, kf.x[:, 0], rtol=1e-12, atol=1e-9)
        assert f.box == pytest.approx(z_to_box(kf.x[:, 0], config.box_state))


@pytest.mark.parametrize(
    "config", [MotionConfig(), MotionConfig(constant_acceleration=True), MotionConfig(box_state="ah")]
)
def test_batched_update_is_filterpys_update(config):
    # The tracker corrects all matched tracks at once; each must end where filterpy's own
    # per-filter update (Joseph form) would have put it, state, covariance and gain.
    import copy

    model = MotionModel(config)
    rng = np.random.default_rng(5)
    filters = []
    for k in range(6):
        f = model.create(box_at(80.0 + 40 * k, 150.0, 16.0 + 2 * k, 10.0 + k))
        for _ in range(k):
            f.predict(1 / FPS)
            f.update(np.array(f.box) + rng.normal(0.0, 1.0, 4))
        f.predict(1 / FPS)
        filters.append(f)
    boxes = np.array([f.box for f in filters]) + rng.normal(0.0, 2.0, (len(filters), 4))
    z, std = model.measurements(boxes)
    reference = [copy.deepcopy(f.kf) for f in filters]
    for kf, zi, si in zip(reference, z, std):
        kf.update(zi, R=np.diag(si**2))
    model.update(filters, z, std)
    for f, kf in zip(filters, reference):
        np.testing.assert_allclose(f.kf.x, kf.x, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(f.kf.P, kf.P, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(f.kf.K, kf.K, rtol=1e-12, atol=1e-12)


def test_batched_boxes_and_gate_equal_the_per_track_ones():
    model = MotionModel(MotionConfig())
    filters = [model.create(box_at(100.0 * k, 50.0, 10.0 + 5 * k, 30.0 - 2 * k)) for k in range(1, 5)]
    predicted = model.predict(filters, 1 / FPS)
    dets = np.array([box_at(100.0, 52.0), box_at(205.0, 49.0, 20.0, 26.0), box_at(400.0, 60.0)])
    gate = predicted.gate_distances(dets)
    assert gate.shape == (4, 3)
    for k, f in enumerate(filters):
        np.testing.assert_allclose(gate[k], f.centre_gate_distance(dets))
        np.testing.assert_allclose(predicted.boxes[k], f.box)
    for box_state in ("wh", "ah"):
        z = boxes_to_z(dets, box_state)
        np.testing.assert_allclose(z, [box_to_z(b, box_state) for b in dets])
        np.testing.assert_allclose(states_to_boxes(z, box_state), dets)
    assert model.predict([], 1 / FPS).boxes.shape == (0, 4)


def test_in_lane_keeps_a_recovery_in_the_tracks_lane_and_out_of_the_queue_behind():
    model = MotionModel(MotionConfig())
    # a held car (18 x 40 px) that was driving south (+y), last seen where it is predicted
    predicted = model.predict([model.create(box_at(600.0, 100.0, 18.0, 40.0))], 0.0)
    south, last = np.array([[0.0, 1.0]]), np.array([[600.0, 100.0]])
    pulled_away = box_at(600.0, 160.0, 18.0, 40.0)  # 60 px further along its lane
    next_lane = box_at(630.0, 110.0, 18.0, 40.0)  # a similar car one lane over
    behind = box_at(600.0, 40.0, 18.0, 40.0)  # the car queued behind it
    ok = predicted.in_lane(np.array([pulled_away, next_lane, behind]), south, last)[0]
    assert ok.tolist() == [True, False, False]
    # no known heading (it never moved): only within its own width and height
    unknown = predicted.in_lane(np.array([pulled_away, box_at(610.0, 130.0, 18.0, 40.0)]), np.zeros((1, 2)), last)[0]
    assert unknown.tolist() == [False, True]
