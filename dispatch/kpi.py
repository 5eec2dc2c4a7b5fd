"""Response-time objectives the KPIs are measured against, each at the 90th percentile (NFPA 1710 style).

Segments: call processing = call received → first unit of the agency dispatched; turnout = dispatched →
en route; travel = en route → on scene; total response = call received → first unit of the agency on scene.
Fire (119) uses NFPA 1710 (turnout 80 s fire, travel 240 s first engine) with NFPA 1221/1225 call
processing (60 s); EMS (120) the same with the 60 s EMS turnout; police and traffic police (110, 122) use
the Chinese 110 rule "城区五分钟" (urban arrival within five minutes) as total response, with the same
processing and turnout. Totals are the sums of the segments unless a rule sets them.
"""

SEGMENTS = ("call_processing", "turnout", "travel", "total_response")
PERCENTILE = 0.9
OBJECTIVES_S = {
    "119": {"call_processing": 60, "turnout": 80, "travel": 240, "total_response": 380},
    "120": {"call_processing": 60, "turnout": 60, "travel": 240, "total_response": 360},
    "110": {"call_processing": 60, "turnout": 60, "travel": 180, "total_response": 300},
    "122": {"call_processing": 60, "turnout": 60, "travel": 180, "total_response": 300},
}
OBJECTIVE_SOURCES = {
    "119": "NFPA 1710 (turnout 80 s, first-engine travel 240 s) + NFPA 1221/1225 (processing 60 s), 90th percentile",
    "120": "NFPA 1710 (EMS turnout 60 s, BLS travel 240 s) + NFPA 1221/1225 (processing 60 s), 90th percentile",
    "110": "110 handling rules: urban arrival within 5 min (城区五分钟), 90th percentile",
    "122": "110 handling rules: urban arrival within 5 min (城区五分钟), 90th percentile",
}


def judged(agency: str, p90_s: dict[str, float | None]) -> dict:
    """Each segment's p90 with its objective and whether it is met (None when there is no data)."""
    objectives = OBJECTIVES_S[agency]
    return {
        segment: {
            "p90_s": None if p90_s.get(segment) is None else round(p90_s[segment], 1),
            "objective_s": objectives[segment],
            "met": None if p90_s.get(segment) is None else p90_s[segment] <= objectives[segment],
        }
        for segment in SEGMENTS
    }
