"""ARGOS camera node: capture sources (GStreamer: files, RTSP, V4L2, Argus, pipelines; image folders;
the synthetic scene) and the annotator."""
