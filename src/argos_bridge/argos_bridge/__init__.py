"""ARGOS bridge node: Redis Stream buffer and MQTT publishing of detections, tracks and counts."""
