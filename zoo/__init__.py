"""zoo: a Keras 3 model zoo for multimodal speech emotion recognition.

Five published systems, one builder module per paper::

    from zoo import parallelnet
    model = parallelnet.build()
"""
__version__ = "0.1.0"
