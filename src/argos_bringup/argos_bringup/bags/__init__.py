"""rosbag2 record / play / info and deterministic replay, on the pure-Python `rosbags` library
(ros2 bag / rosbag2 are not installable from PyPI)."""
