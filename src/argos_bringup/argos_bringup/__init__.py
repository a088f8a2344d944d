"""ARGOS bringup: launch files, configuration and the argos command line."""
