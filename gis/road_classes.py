"""The road classes every road layer uses (demo city, OpenStreetMap imports), and their default speeds."""

# Speeds (km/h) of a road whose data gives none usable: urban Chinese defaults, per class.
SPEED_KMH = {"expressway": 80.0, "arterial": 60.0, "secondary": 40.0, "branch": 30.0}
