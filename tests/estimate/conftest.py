"""Shared by the estimator's tests: built models are cached for the session (building is most of their time)."""
import pytest


@pytest.fixture(scope="session")
def _model_cache():
    return {}


@pytest.fixture
def cached_models(monkeypatch, _model_cache):
    """qmodels.build.build_model memoised on its arguments for the rest of the session."""
    import qmodels.build

    real = qmodels.build.build_model

    def build(model, input_shape=None, classes=None, seed=0, calibrate=True):
        key = (str(model), tuple(input_shape or ()), classes, seed, calibrate)
        if key not in _model_cache:
            _model_cache[key] = real(model, input_shape=input_shape, classes=classes, seed=seed, calibrate=calibrate)
        return _model_cache[key]

    monkeypatch.setattr(qmodels.build, "build_model", build)
    return build
