"""The rclpy helpers every ARGOS node shares: message conversions, QoS profiles, parameter
declaration with descriptors, /diagnostics reporting and the standalone node entry point.

Everything above this sub-package (`argos_common.*`) is ROS-free and imports without rclpy."""
