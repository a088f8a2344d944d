"""Letterbox round trips and the model-input tensor: colour order, normalisation, batching."""

import numpy as np
import pytest

from argos_inference.preprocess import PAD_VALUE, InputSpec, Letterbox, Preprocessor


@pytest.mark.parametrize(
    "source_hw, input_hw",
    [
        ((720, 1280), (640, 640)),
        ((1080, 1920), (384, 640)),
        ((480, 640), (640, 640)),
        ((37, 999), (64, 96)),
        ((640, 640), (640, 640)),
        ((100, 50), (320, 320)),
    ],
)
def test_letterbox_round_trip_is_exact_and_fits_the_input(source_hw, input_hw):
    box = Letterbox.fit(source_hw, input_hw)
    rng = np.random.default_rng(0)
    h, w = source_hw
    boxes = np.sort(rng.uniform(0, 1, (50, 2, 2)), axis=1).reshape(50, 4)[:, [0, 2, 1, 3]] * [w, h, w, h]
    np.testing.assert_allclose(box.to_source(box.to_model(boxes)), boxes, rtol=0, atol=1e-9)
    image_corners = box.to_model(np.array([[0, 0, w, h]]))[0]
    assert image_corners[0] >= 0 and image_corners[1] >= 0
    assert image_corners[2] <= input_hw[1] and image_corners[3] <= input_hw[0]
    # the image touches two opposite sides of the input (uniform scale, centred padding)
    assert (image_corners[0] == 0 and image_corners[2] == input_hw[1]) or (
        image_corners[1] == 0 and image_corners[3] == input_hw[0]
    )
    assert abs(box.pad_left - (input_hw[1] - image_corners[2])) <= 1
    assert abs(box.pad_top - (input_hw[0] - image_corners[3])) <= 1


def test_to_source_clips_to_the_image():
    box = Letterbox.fit((100, 200), (64, 64))
    out = box.to_source(np.array([[-10, -10, 80, 80]]))
    assert out.min() >= 0 and out[0, 2] <= 200 and out[0, 3] <= 100


def test_letterboxed_pixels_land_where_to_model_says():
    image = np.zeros((90, 160, 3), np.uint8)
    image[30:60, 40:80] = (255, 0, 0)  # a blue (BGR) block
    box = Letterbox.fit(image.shape[:2], (128, 128))
    canvas = box.apply(image)
    x1, y1, x2, y2 = box.to_model(np.array([[40, 30, 80, 60]]))[0]
    inner = canvas[int(np.ceil(y1)) + 1 : int(y2) - 1, int(np.ceil(x1)) + 1 : int(x2) - 1]
    assert (inner == (255, 0, 0)).all()
    assert (canvas[: box.pad_top] == PAD_VALUE).all() and (canvas[box.pad_top + box.resized_hw[0] :] == PAD_VALUE).all()


def test_preprocessor_colour_order_normalisation_and_batch_padding():
    image = np.zeros((8, 8, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 10, 128, 250  # B, G, R
    rgb = Preprocessor(InputSpec(8, 8, "rgb"))
    batch, boxes = rgb([image], batch_size=3)
    assert batch.shape == (3, 3, 8, 8) and batch.dtype == np.float32 and len(boxes) == 1
    np.testing.assert_allclose(batch[0, :, 0, 0], [250 / 255, 128 / 255, 10 / 255], rtol=1e-6)
    assert not batch[1:].any()
    bgr = Preprocessor(InputSpec(8, 8, "bgr", mean=(0.5, 0.5, 0.5), std=(0.25, 0.5, 1.0)))
    batch, _ = bgr([image])
    expected = [(10 / 255 - 0.5) / 0.25, (128 / 255 - 0.5) / 0.5, (250 / 255 - 0.5) / 1.0]
    np.testing.assert_allclose(batch[0, :, 3, 3], expected, rtol=1e-5, atol=1e-6)


def test_preprocessor_rejects_non_bgr_images():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        Preprocessor(InputSpec(8, 8))([np.zeros((8, 8), np.uint8)])
    with pytest.raises(ValueError):
        InputSpec(8, 8, color="yuv")
