"""`manage.py check_topology --network CODE [--tolerance 1.0] [--json]`: the topology report of a network."""

import json

from django.core.management.base import BaseCommand, CommandError

from pipelines_mgmt.models import Network
from pipelines_mgmt.selectors import topology_report


class Command(BaseCommand):
    help = "Check a pipe network's topology: dangling ends, near-misses, duplicates, islands, valves, sources."

    def add_arguments(self, parser):
        parser.add_argument("--network", required=True, help="network code")
        parser.add_argument("--tolerance", type=float, default=1.0, help="snap tolerance in metres")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, network, tolerance, **opts):
        found = Network.objects.filter(code=network).first()
        if found is None:
            raise CommandError(f"unknown network {network!r}")
        if tolerance <= 0:
            raise CommandError("--tolerance must be positive")
        report = topology_report(found, tolerance)
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{found.code}: {report['node_count']} nodes, {report['pipe_count']} pipes, "
                          f"{report['valve_count']} valves; defects {report['counts']}")  # fmt: skip
        for defect in report["defects"]:
            lon, lat = defect["location"]["coordinates"]
            self.stdout.write(f"  [{defect['severity']}] {defect['kind']} at {lon:.6f},{lat:.6f}: {defect['message']}")
        if not report["ok"]:
            raise CommandError("the network has topology errors")
