"""Fixtures the unit tests share."""
import pytest

from qmodels import data as D


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """The digits dataset, cached in a folder of the test module's own (not the user's cache)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTENDNETS_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield D.resolve(dataset="digits")
