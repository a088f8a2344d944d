"""Motion model: constant-velocity box filter, time steps from stamps, fixed gain, gating."""
import numpy as np
import pytest

from argos_tracker.motion_model import MotionConfig, MotionModel, box_to_z

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
    assert d_fresh > 13.8            # 15 px sideways is implausible one frame after a good fix
    assert d_coasted < d_fresh       # ... but less so after a second without detections


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
    np.testing.assert_allclose(f.kf.P, p_post)   # covariance pinned to the steady state
    assert not MotionModel(MotionConfig(fixed_gain=False)).create(box_at(0, 0)).fixed_gain_active
