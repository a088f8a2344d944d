"""ARGOS tracker node: Kalman/observer multi-object tracking and line counting."""
