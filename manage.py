#!/usr/bin/env python
"""Django's command-line entry point; puts the source roots on sys.path."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# platform/ is a source root (not a package: it would shadow the stdlib `platform`), the repo root holds the apps.
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cityops.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
