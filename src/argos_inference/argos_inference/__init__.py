"""ARGOS inference node: detection engines behind one interface publishing vision_msgs/Detection2DArray."""
