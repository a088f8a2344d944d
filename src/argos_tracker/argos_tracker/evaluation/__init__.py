"""Offline evaluation and benchmarks of the tracker (argos eval tracker, argos bench tracker).

Not imported by the node: supervision and motmetrics are dev/bench-only dependencies."""
