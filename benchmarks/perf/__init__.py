"""Speed benchmarks of the zoo: ``python -m benchmarks.perf [--models ...] [--quick]``.

Modules, one measurement each (their docstrings say exactly what is timed):

* :mod:`~benchmarks.perf.throughput`: training samples/s per model at its recipe's batch
  size, fed by ``zoo.pipeline`` (as training feeds it) and by in-memory tensors;
* :mod:`~benchmarks.perf.bucketing`: seconds per epoch of the recurrent models with length
  bucketing, batch-max padding and padding to the longest utterance;
* :mod:`~benchmarks.perf.latency`: a 4-second wav to a prediction (features + model);
* :mod:`~benchmarks.perf.precision`: mixed_float16 against float32 (GPUs only);
* :mod:`~benchmarks.perf.hsf`: the vectorised pyAudioAnalysis HSF against pyAudioAnalysis itself
  (run on its own: ``python -m benchmarks.perf.hsf``).

:mod:`~benchmarks.perf.setups` holds the sizes and synthetic input shapes of each model,
:mod:`~benchmarks.perf.data` the synthetic feature tables (IEMOCAP-like durations),
:mod:`~benchmarks.perf.timing` the epoch timer, :mod:`~benchmarks.perf.report` the machine
description and the markdown.
"""
