"""The foxglove_msgs the annotator records (the in-repo underlay where the real package is
absent) is the upstream type: its RIHS01 hashes, computed from the installed definitions, are
those of foxglove_msgs 3.4 (foxglove/foxglove-sdk, ros/src/foxglove_msgs), so Foxglove and any
ROS 2 tool treat recorded annotations as the real foxglove_msgs/msg/ImageAnnotations."""

import pytest

from argos_bringup.bags.typestore import typestore_for

# computed by rosbags from the upstream 3.4.3 .msg files (ImageAnnotations and the messages it
# nests); a field renamed, retyped, reordered or missing in our copy changes them
UPSTREAM_3_4 = {
    "foxglove_msgs/msg/ImageAnnotations": "RIHS01_bc4e578b1ef80953415d6f966a4cab305c8a44c8b64fc405312b6f06a08fc45e",
}


@pytest.mark.parametrize("msgtype", sorted(UPSTREAM_3_4))
def test_installed_foxglove_msgs_has_the_upstream_type_hash(msgtype):
    store = typestore_for([msgtype])
    assert store.hash_rihs01(msgtype) == UPSTREAM_3_4[msgtype]


def test_the_generated_python_type_agrees_with_the_definition_recorded_in_bags():
    from foxglove_msgs.msg import ImageAnnotations, PointsAnnotation

    fields = ImageAnnotations.get_fields_and_field_types()
    assert list(fields) == ["timestamp", "circles", "points", "texts", "metadata"]
    assert (PointsAnnotation.LINE_LOOP, PointsAnnotation.LINE_STRIP) == (2, 3)
