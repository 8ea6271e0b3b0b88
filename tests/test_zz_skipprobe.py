import pytest
def test_skips():
    pytest.skip("needs a tool")
@pytest.mark.xfail(reason="known")
def test_xf():
    assert False
