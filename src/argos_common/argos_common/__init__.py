"""ARGOS edge shared core: what every package uses, importable without ROS.

Parameter specs and their validation (`params`), counting-line geometry (`lines`), the
detection record (`detections`), box geometry (`geometry`), the in-process frame hand-off
(`frame`, `handoff`), count records and totals (`counts`), health levels (`health`),
statistics (`stats`), server addresses and secrets (`endpoints`, `redis_client`), package
paths (`paths`), the default classes (`classes`) and machine descriptions (`machine`).
The rclpy helpers live in `argos_common.ros`.
"""
