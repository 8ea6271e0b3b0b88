"""What each of the course's Hub-managed services (``feedback_service.py``, ``report_service.py``)
starts with: the Hub's log format, this repository's packages importable, and the course.

The Hub runs each service as a script (``jupyterhub_config.py``), so this folder is on its
``sys.path`` and a service imports this module by its bare name.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def start_service() -> dict:
    """Logs as the Hub does, makes this repository's packages (``instructor``, ``autograder``)
    importable after the course's own, which come first, and returns the course: the
    ``course.json`` that setup_course.py wrote in ``COURSE_HUB_ROOT`` (default /srv/nbgrader)."""
    logging.basicConfig(level=logging.INFO, format="[%(name)s %(asctime)s %(levelname)s] %(message)s")
    if str(REPO) not in sys.path:
        sys.path.append(str(REPO))
    root = os.environ.get("COURSE_HUB_ROOT", "/srv/nbgrader")
    return json.loads(Path(root, "course.json").read_text())
