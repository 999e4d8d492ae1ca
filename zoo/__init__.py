"""zoo: a Keras 3 model zoo for multimodal speech emotion recognition.

Five published systems, one builder module per paper::

    from zoo import parallelnet
    model = parallelnet.build()

    import zoo
    zoo.predict("speech.wav")        # emotions with a released model (the zoo.predict module)
"""
__version__ = "0.1.0"


def list_models(include_variants: bool = True):
    """Names of every registered model (and ``model:variant``); see :mod:`zoo.registry`."""
    from zoo.registry import list_models as _list

    return _list(include_variants)


def build(name: str, **kwargs):
    """Build a registered model by name, e.g. ``zoo.build("amh", hops=5)``.

    ``weights=`` a release name of ``weights/manifest.json`` or a ``.weights.h5`` file (and
    ``freeze=``, ``new_head=``) go through :func:`zoo.weights.build`, which verifies the file
    before loading it; ``weights="imagenet"`` is left to the builder (ParallelNet's backbones). A file
    written by ``python -m zoo finetune`` brings its builder arguments from its sidecar (:mod:`zoo.finetune`).

    ``waveform_input=True`` (and ``waveform_lengths=True`` for an int32 ``lengths`` input of real samples
    per zero-padded row) wraps the model in its in-graph front-ends
    (:func:`zoo.export.waveform_model`): float32 16 kHz mono waveforms ``(B, N)`` in, the model's
    outputs out, with CSA's chunking and posterior mean in the graph; the features are the
    release's or fine-tuned file's when ``weights=`` names one, else the recipe's. A model with a
    feature that has no in-graph front-end (chroma, pyAudioAnalysis HSF, text, images) is a
    :class:`zoo.export.ExportError` naming it.
    """
    waveform, lengths = kwargs.pop("waveform_input", False), kwargs.pop("waveform_lengths", None)
    if lengths is not None and not waveform:
        raise TypeError("waveform_lengths= is an option of waveform_input=True")
    model = _build_features_in(name, **kwargs)
    if not waveform:
        return model
    from zoo import export

    return export.waveform_model(export.source_of_build(model, name, kwargs.get("weights")), lengths=bool(lengths))


def _build_features_in(name: str, **kwargs):
    """:func:`build` without the waveform wrapper."""
    if str(kwargs.get("weights", "")).endswith(".weights.h5"):
        from zoo import finetune

        if finetune.is_finetuned(kwargs["weights"]):
            name, kwargs = finetune.build_arguments(name, kwargs["weights"], kwargs)
    if kwargs.get("weights") not in (None, "imagenet") or any(k in kwargs for k in ("freeze", "new_head")):
        from zoo import weights

        return weights.build(name, **kwargs)
    from zoo.registry import build as _build

    return _build(name, **kwargs)


def labels_of(model):
    """The ordered label names a zoo classifier's ``predictions`` layer carries (or None)."""
    from zoo.layers.outputs import output_labels

    return output_labels(model)


def __getattr__(name):
    """``zoo.predict``: the :mod:`zoo.predict` module, imported on first use (TensorFlow loads
    then, not on ``import zoo``) and callable: ``zoo.predict("a.wav", model=...)`` is
    :func:`zoo.predict.predict`."""
    if name == "predict":
        import importlib

        return importlib.import_module("zoo.predict")
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
