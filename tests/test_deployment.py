"""The production-shaped deployment files are accepted by their tools."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_docker_compose_config_accepts_the_file_and_requires_secrets():
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is installed by bin/cityops"
    secrets = {**os.environ, "CITYOPS_SECRET_KEY": "k" * 50, "POSTGRES_PASSWORD": "p" * 20}
    ok = subprocess.run([compose, "config"], cwd=ROOT, env=secrets, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    for service in ("postgis:", "redis:", "web:", "gps-ingest:", "jt809-link:"):
        assert f"  {service}" in ok.stdout
    assert ok.stdout.count("healthcheck:") >= 5
    no_secrets = {k: v for k, v in secrets.items() if k not in ("CITYOPS_SECRET_KEY", "POSTGRES_PASSWORD")}
    refused = subprocess.run([compose, "config"], cwd=ROOT, env=no_secrets, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
