"""The four counting lines of config/edge.yaml (the arms of the synthetic intersection, 1280x720),
as tracker parameters: the geometry the tracker's unit tests count on."""

EDGE_LINES = {
    "lines.names": ["west", "east", "north", "south"],
    "lines.west.points": [420.0, 290.0, 420.0, 360.0, 420.0, 430.0],
    "lines.west.lanes": ["westbound", "eastbound"],
    "lines.east.points": [860.0, 430.0, 860.0, 360.0, 860.0, 290.0],
    "lines.east.lanes": ["eastbound", "westbound"],
    "lines.north.points": [710.0, 200.0, 640.0, 200.0, 570.0, 200.0],
    "lines.north.lanes": ["northbound", "southbound"],
    "lines.south.points": [570.0, 520.0, 640.0, 520.0, 710.0, 520.0],
    "lines.south.lanes": ["southbound", "northbound"],
}
