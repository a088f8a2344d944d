"""The inference node with engine onnxruntime: a YOLOv8-layout model built here, frames through
the in-process slot, Detection2DArray in source-image pixels on `detections`; and the detector
bench command end to end (short)."""

import time
import uuid

import numpy as np
import onnx
import pytest
import rclpy
from onnx import TensorProto, helper, numpy_helper
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from vision_msgs.msg import Detection2DArray

from argos_bringup.cli import main as argos
from argos_common.frame import Frame
from argos_common.handoff import LatestSlot
from argos_common.ros.conversions import msg_to_detections
from argos_common.ros.qos import RESULTS
from argos_inference.node import InferenceNode

pytestmark = pytest.mark.integration


def yolov8_model(path, raw):
    """Input [1,3,64,64]; output0 = raw + 0 x mean(input)."""
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["raw", "nothing"], ["output0"]),
    ]
    inits = [numpy_helper.from_array(np.array(0.0, np.float32), "zero"), numpy_helper.from_array(raw, "raw")]
    graph = helper.make_graph(
        nodes,
        "v8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(raw.shape))],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_node_publishes_model_detections_in_source_pixels(tmp_path):
    raw = np.zeros((1, 4 + 11, 16), np.float32)
    raw[0, :4, 0], raw[0, 4 + 1, 0] = (32, 32, 16, 8), 0.9  # a car in the centre of the 64x64 input
    model = yolov8_model(tmp_path / "v8.onnx", raw)
    context = rclpy.context.Context()
    rclpy.init(context=context)
    namespace = f"/inference_dnn_{uuid.uuid4().hex[:8]}"
    slot: LatestSlot[Frame] = LatestSlot()
    node = InferenceNode(
        namespace=namespace,
        context=context,
        frame_slot=slot,
        parameter_overrides=[Parameter("engine", value="onnxruntime"), Parameter("model.path", value=str(model))],
    )
    probe = rclpy.create_node("probe", namespace=namespace, context=context)
    received: list[Detection2DArray] = []
    probe.create_subscription(Detection2DArray, "detections", received.append, RESULTS)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    try:
        deadline = time.monotonic() + 5
        while node._publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        slot.put(Frame(np.zeros((360, 640, 3), np.uint8), 123_000_000_000, 0, "cam_optical"))
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert received and received[0].header.frame_id == "cam_optical"
        detections = msg_to_detections(received[0])
        assert detections.labels == ["car"]
        # 640x360 -> 64x36 at scale 0.1, padded 14 px top: (24..40, 28..36) -> (240..400, 140..220)
        np.testing.assert_allclose(detections.boxes[0], [240, 140, 400, 220], atol=1e-3)
        assert node.stats()["engine"] == "onnxruntime"
    finally:
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()
        rclpy.shutdown(context=context)


def test_bench_detector_prints_a_table_naming_the_machine(capsys):
    assert argos(["bench", "detector", "--seconds", "0.2", "--input-size", "160"]) == 0
    out = capsys.readouterr().out
    assert "cores" in out and "Python" in out and "onnxruntime 1.31.1" in out
    # the bundled model when models/ has one (plus its shipped int8), else a generated network
    rows = [line for line in out.splitlines() if "onnxruntime CPU" in line]
    precisions = {r.split("onnxruntime CPU", 1)[1].strip().split("  ")[0] for r in rows}
    assert {"fp32", "int8 (s8 sym)", "int8 (u8 asym)"} <= precisions
    assert "not verified here" in out
