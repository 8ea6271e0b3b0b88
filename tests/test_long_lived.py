"""What a long-lived process imports for life: made with the collector off, frozen after."""
import gc

from autograder.engine.shared.long_lived import imported_for_life


def test_the_collector_is_off_inside_and_on_again_after_with_what_was_made_frozen():
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        with imported_for_life():
            assert not gc.isenabled()
            kept = [[i] for i in range(5_000)]  # 5,001 objects a module might keep
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
    finally:
        gc.unfreeze()  # this test process is not long-lived: its objects go back to the collector


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with imported_for_life():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
