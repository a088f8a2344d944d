"""The 11 vehicle classes ARGOS counts by default.

German traffic-counting practice (TLS "8+1" vehicle classes) plus the two-wheelers that
intersections need: the eight TLS classes, TLS's "+1" for vehicles that cannot be classified,
bicycles and e-scooters. The list is configuration (`classes`); these are the defaults.
"""

DEFAULT_CLASSES = (
    "motorcycle",  # TLS: Krad
    "car",  # TLS: Pkw
    "van",  # TLS: Lieferwagen (<= 3.5 t)
    "car_with_trailer",  # TLS: Pkw mit Anhaenger
    "truck",  # TLS: Lkw (rigid, > 3.5 t)
    "truck_with_trailer",  # TLS: Lkw mit Anhaenger
    "semi_trailer",  # TLS: Sattelzug
    "bus",  # TLS: Bus
    "unclassified",  # TLS: nicht klassifizierbares Kfz ("+1")
    "bicycle",
    "e_scooter",
)
