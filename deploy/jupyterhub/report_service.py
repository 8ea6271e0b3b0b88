"""The class report on the Hub: a Hub-managed service that shows instructors the latest report.

jupyterhub_config.py starts it as the instructor (who owns the course folder) at
``/services/class-report/``. It logs users in through the Hub's OAuth, as any Hub service
does; the Hub lets only the course's instructors (and admins) through to it (the
``class-report-readers`` role grants ``access:services!service=class-report``), and the
service checks again that the user is an instructor of ``course.json``: everyone else gets
403. It serves the pages and CSVs of ``<course folder>/reports/`` (file names only, never a
path), and writes them again (``instructor.class_report``) when grading wrote (the SQLite gradebook,
or a notebook's results file, which a PostgreSQL gradebook's grading writes too) since they
were written, so the report is always that of the latest grading, whether the
instructor graded with ``instructor.grade_class`` or the formgrader's button.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import sys
from pathlib import Path
from urllib.parse import urlparse

SERVICE_NAME = "class-report"
# What may be served: a page or a CSV of the report folder, by its bare name.
SERVABLE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.(html|csv)$")
TYPES = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}

log = logging.getLogger(SERVICE_NAME)


def is_instructor(user: dict, instructors: set[str]) -> bool:
    """The course's instructors and the Hub's admins may read the report; nobody else."""
    return user.get("name") in instructors or bool(user.get("admin"))


def last_grading(course_dir: Path) -> float | None:
    """When grading last wrote: the SQLite gradebook, or the newest per-notebook results file the
    engine writes beside each autograded notebook (what changes with a PostgreSQL gradebook too)."""
    written = [path.stat().st_mtime for path in (course_dir / "autograded").glob("*/*/*.results.json")]
    gradebook = course_dir / "gradebook.db"
    if gradebook.exists():
        written.append(gradebook.stat().st_mtime)
    return max(written, default=None)


def report_is_stale(course_dir: Path, reports: Path) -> bool:
    """Whether grading wrote since the report was written (or there is no report)."""
    index = reports / "index.html"
    graded = last_grading(course_dir)
    if graded is None:
        return False
    return not index.exists() or graded > index.stat().st_mtime


def make_app(course_dir: Path, instructors: set[str], prefix: str):
    from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
    from tornado import web

    reports = course_dir / "reports"
    writing = asyncio.Lock()

    def rewrite() -> None:
        from instructor.class_report import write_reports
        write_reports(course_dir, progress=False)

    class ReportHandler(HubOAuthenticated, web.RequestHandler):
        @web.authenticated
        async def get(self, name: str):
            user = self.current_user
            if not is_instructor(user, instructors):
                log.warning("refused %r: not an instructor of the course", user.get("name"))
                raise web.HTTPError(403, "the class report is for the course's instructors only")
            name = name or "index.html"
            if not SERVABLE.match(name):
                raise web.HTTPError(404)
            async with writing:  # one rewrite at a time; the others wait for it, then read it
                if report_is_stale(course_dir, reports):
                    try:
                        await asyncio.to_thread(rewrite)
                    except Exception:  # the last report (if any) is still served
                        log.exception("writing the class report failed")
            path = reports / name
            if not path.is_file():
                raise web.HTTPError(404, "no class report yet: grade an assignment first")
            self.set_header("Content-Type", TYPES[name.rsplit(".", 1)[1]])
            self.set_header("Cache-Control", "no-store")  # always the latest grading's
            self.write(path.read_bytes())

    return web.Application([
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
        (prefix + r"([^/]*)", ReportHandler),
    ], cookie_secret=secrets.token_bytes(32))


def main() -> int:
    from hub_service import start_service  # this folder: the Hub runs the service as a script

    course = start_service()  # instructor.class_report importable from here on
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:8082"))
    app = make_app(Path(course["course_dir"]), set(course["instructors"]), prefix)

    async def serve() -> None:
        app.listen(url.port, url.hostname)
        log.info("serving %s on %s:%s", prefix, url.hostname, url.port)
        await asyncio.Event().wait()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
