"""ARGOS camera node: capture sources (synthetic traffic scene, video files) publishing sensor_msgs/Image."""
