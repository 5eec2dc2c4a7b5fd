import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_layer_cache():
    """Layers are cached per process; each test starts without another test's layers."""
    cache.clear()
