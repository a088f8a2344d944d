"""Privacy masks and the RTSP exposure rules, without ROS."""

import numpy as np
import pytest

from argos_camera.annotator_params import PARAMS as ANNOTATOR_PARAMS
from argos_camera.annotator_params import exposure_warnings
from argos_camera.annotator_params import validate as validate_annotator
from argos_camera.privacy import parse_masks
from argos_common.params import ConfigError, resolve


def test_mask_blacks_out_the_polygon_on_a_copy_only():
    masks = parse_masks(
        {"privacy_masks.names": ["yard"], "privacy_masks.yard.points": [10.0, 10.0, 50.0, 10.0, 50.0, 30.0, 10.0, 30.0]}
    )
    frame = np.full((60, 80, 3), 200, np.uint8)
    frame.setflags(write=False)  # as GStreamer frames are: the mask must not need to write into it
    out = masks.apply(frame)
    assert out is not frame and (frame == 200).all()
    assert (out[10:31, 10:51] == 0).all()  # vertices included
    outside = np.ones(out.shape[:2], bool)
    outside[10:31, 10:51] = False
    assert (out[outside] == 200).all()


def test_no_mask_is_the_frame_itself_and_bad_polygons_name_their_key():
    frame = np.zeros((4, 4, 3), np.uint8)
    assert parse_masks({}).apply(frame) is frame
    with pytest.raises(ConfigError, match="privacy_masks.a.points"):
        parse_masks({"privacy_masks.names": ["a"], "privacy_masks.a.points": [0.0, 0.0, 5.0, 5.0]})


def annotator(**values):
    specs_values = {"privacy_masks.names": [], **values}
    return resolve(ANNOTATOR_PARAMS, specs_values)


def test_rtsp_beyond_loopback_needs_credentials():
    validate_annotator(annotator(rtsp_port=8554))  # loopback by default: fine
    assert annotator()["rtsp_address"] == "127.0.0.1"
    with pytest.raises(ConfigError, match="rtsp_address: 0.0.0.0 is not loopback"):
        validate_annotator(annotator(rtsp_port=8554, rtsp_address="0.0.0.0"))
    with pytest.raises(ConfigError, match="rtsp_password_file"):
        validate_annotator(annotator(rtsp_port=8554, rtsp_address="0.0.0.0", rtsp_user="viewer"))
    validate_annotator(
        annotator(rtsp_port=8554, rtsp_address="0.0.0.0", rtsp_user="viewer", rtsp_password_file="/etc/argos/rtsp")
    )
    with pytest.raises(ConfigError, match="rtsp_auth: 'ntlm' is not one of digest, basic"):
        validate_annotator(annotator(rtsp_auth="ntlm"))
    # TLS alone hides the stream on the wire but lets anyone in: still refused beyond loopback
    with pytest.raises(ConfigError, match="rtsp_address: 0.0.0.0 is not loopback"):
        validate_annotator(
            annotator(rtsp_port=8554, rtsp_address="0.0.0.0", rtsp_tls_cert_file="c.pem", rtsp_tls_key_file="k.pem")
        )
    with pytest.raises(ConfigError, match="rtsp_tls_key_file: RTSPS needs both"):
        validate_annotator(annotator(rtsp_port=8554, rtsp_tls_cert_file="c.pem"))


def test_basic_authentication_on_the_network_without_tls_is_warned_about():
    network = dict(rtsp_port=8554, rtsp_address="0.0.0.0", rtsp_user="viewer", rtsp_password_file="/etc/argos/rtsp")
    assert annotator()["rtsp_auth"] == "digest"
    assert exposure_warnings(annotator(**network)) == []  # digest: the password never crosses the wire
    (warning,) = exposure_warnings(annotator(**network, rtsp_auth="basic"))
    assert "readable on the wire" in warning and "0.0.0.0" in warning
    tls = dict(rtsp_tls_cert_file="c.pem", rtsp_tls_key_file="k.pem")
    assert exposure_warnings(annotator(**network, rtsp_auth="basic", **tls)) == []
    loopback = {**network, "rtsp_address": "127.0.0.1"}
    assert exposure_warnings(annotator(**loopback, rtsp_auth="basic")) == []


def test_masks_follow_the_geometry_of_lines_and_zones():
    from argos_camera.privacy import MasksBySize

    params = {
        "privacy_masks.names": ["house"],
        "privacy_masks.house.points": [0.0, 0.0, 640.0, 0.0, 640.0, 360.0, 0.0, 360.0],
        "geometry.image_size": [1280, 720],
    }
    masks = MasksBySize(params)
    frame = np.full((1080, 1920, 3), 255, np.uint8)
    masked = masks.for_image(frame).apply(frame)
    assert masked[539, 959].max() == 0 and masked[545, 965].min() == 255  # the quarter drawn on 720p, at 1080p
    assert masks.for_image(np.zeros((1080, 1080, 3), np.uint8)) is None  # another view: no image leaves
