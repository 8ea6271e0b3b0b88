"""The judges a grading process keeps: one per course, reused, and no more than
MAX_LIVE_JUDGES alive at once (a Dask worker or a test process grades many courses)."""
import os

from autograder.engine.judge import server as judge_server
from autograder.engine.judge.server import MAX_LIVE_JUDGES, JudgeServer
from instructor.paths import ROOT


def test_a_process_keeps_the_judges_it_used_last_and_stops_the_others():
    judge_server.stop_all()
    # One environment per "course": each is its own judge, as a course folder would be.
    envs = [dict(os.environ, PYTHONPATH=str(ROOT), COURSE_UNDER_TEST=str(n)) for n in range(MAX_LIVE_JUDGES + 1)]
    try:
        judges = [JudgeServer.for_course(str(ROOT), env) for env in envs[:MAX_LIVE_JUDGES]]
        assert JudgeServer.for_course(str(ROOT), envs[0]) is judges[0]  # reused, and now the most recent
        newest = JudgeServer.for_course(str(ROOT), envs[MAX_LIVE_JUDGES])
        alive = [j for j in judges + [newest] if j.alive()]
        assert len(alive) == MAX_LIVE_JUDGES and len(JudgeServer._servers) == MAX_LIVE_JUDGES
        assert judges[0].alive() and newest.alive(), "the least recently used judge is the one stopped"
        assert not judges[1].alive()
    finally:
        judge_server.stop_all()
