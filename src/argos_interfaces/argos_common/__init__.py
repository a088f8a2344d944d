"""Shared Python layer of the ARGOS edge nodes."""
