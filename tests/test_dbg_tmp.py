from tests.test_example_replay import *
def test_dbg(hidden):
    hidden(); 
    from autograder.engine import example_replay as r
    print({k[0]: len(v) for k, v in r._kept.items()})
    orig = r._replayed
    def spy(inner, fixtures, examples):
        ok = orig(inner, fixtures, examples); print("replay", inner.__name__, ok); return ok
    r._replayed = spy
    hidden()
