"""zoo: a Keras 3 model zoo for multimodal speech emotion recognition.

Five published systems, one builder module per paper::

    from zoo import parallelnet
    model = parallelnet.build()
"""
__version__ = "0.1.0"


def list_models(include_variants: bool = True):
    """Names of every registered model (and ``model:variant``); see :mod:`zoo.registry`."""
    from zoo.registry import list_models as _list

    return _list(include_variants)


def build(name: str, **kwargs):
    """Build a registered model by name, e.g. ``zoo.build("amh", hops=5)``."""
    from zoo.registry import build as _build

    return _build(name, **kwargs)
