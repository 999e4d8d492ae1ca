"""Training on several devices or machines with TensorFlow's own engine, ``tf.distribute``.

Data parallelism, synchronous: every replica holds a copy of the model, each global batch
(the recipe's ``batch_size``) is split across the replicas, gradients are all-reduced and
every copy takes the same step.

- :func:`make_strategy`: ``"default"`` (one device), ``"mirrored"``
  (``tf.distribute.MirroredStrategy``: all local GPUs, or the devices given) or
  ``"multiworker"`` (``tf.distribute.MultiWorkerMirroredStrategy``: the cluster of
  ``TF_CONFIG``, or of a Slurm job through TensorFlow's ``SlurmClusterResolver``).
- :func:`zoo.train.fit` takes ``strategy=``; the model must be built and compiled inside
  ``strategy.scope()`` (:func:`scope`). Only the chief writes the run folder (see
  :mod:`zoo.train`); the run folder must be storage every worker sees (a shared file system).
- :func:`warm_cache`: each worker (or process) extracts its share of the records into the
  shared content-hash feature cache (:class:`zoo.features.cache.FeatureCache`); training then
  reads the cache.

What equals one device: with the same global batch, seed and data order, a model without
batch statistics follows the one-device loss curve up to float reduction order, as long as
every batch splits evenly across the replicas. Keras scales each replica's mean loss by
``1 / replicas``, so a batch that does not split evenly (the last of an epoch, a length
bucket's last) weights the examples of the smaller share more in that step.
``BatchNormalization`` normalises with each replica's own batch statistics (Keras'
behaviour; ``synchronized=True`` gives global ones); its moving statistics, which each
replica updates on its own, are averaged over the replicas at every epoch end
(:func:`sync_replica_copies`, what Keras 2's ``ON_READ`` / ``MEAN`` variables did), so every
checkpoint holds one well-defined value and a resumed run continues exactly.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import types
from typing import Iterable, Mapping, Optional, Sequence, Tuple

log = logging.getLogger("zoo.distribute")

STRATEGIES = ("default", "mirrored", "multiworker")


# ----------------------------------------------------------------------------- strategies
def make_strategy(name: str = "default", devices: Optional[Sequence[str]] = None, *, cluster_resolver=None):
    """A ``tf.distribute.Strategy`` by name.

    Args:
        name: ``"default"`` (TensorFlow's default strategy: one device, no distribution),
            ``"mirrored"`` (``MirroredStrategy`` over ``devices``, default every local GPU; a
            machine without one gets its CPU) or ``"multiworker"``
            (``MultiWorkerMirroredStrategy``; every worker runs the same command).
        devices: for ``"mirrored"``, e.g. ``["/gpu:0", "/gpu:1"]`` or logical CPU devices
            (:func:`logical_cpus`).
        cluster_resolver: for ``"multiworker"``; default ``TF_CONFIG`` when it is set, else a
            ``SlurmClusterResolver`` inside a Slurm job step of several tasks.

    Create it at the start of the program, before any model: ``MultiWorkerMirroredStrategy``
    must exist before TensorFlow runs its first operation.
    """
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    if name == "default":
        if devices:
            raise ValueError("devices= needs strategy 'mirrored' (the default strategy uses one device)")
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(list(devices) if devices else None)
    if devices:
        raise ValueError("devices= is for strategy 'mirrored'; a multi-worker strategy uses each worker's GPUs")
    if cluster_resolver is None:
        cluster_resolver = _default_cluster_resolver()
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=cluster_resolver)


def _default_cluster_resolver():
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    tasks = os.environ.get("SLURM_STEP_NUM_TASKS") or os.environ.get("SLURM_NTASKS")
    if os.environ.get("SLURM_PROCID") is not None and tasks and int(tasks) > 1:
        return tf.distribute.cluster_resolver.SlurmClusterResolver()
    log.warning("strategy 'multiworker' without TF_CONFIG or a Slurm job of several tasks: one worker")
    return tf.distribute.cluster_resolver.TFConfigClusterResolver()


def logical_cpus(count: int) -> list:
    """Split the CPU into ``count`` logical devices (for tests and benchmarks of
    ``MirroredStrategy`` without GPUs) and return their names. Must run before TensorFlow
    initialises its devices; they share the machine's cores."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))
    except RuntimeError as error:
        raise RuntimeError(f"cannot split the CPU into {count} logical devices: TensorFlow has already "
                           f"initialised its devices ({error}); do it first thing in a fresh process") from None
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def scope(strategy=None):
    """``strategy.scope()``, or a no-op context for ``None``."""
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def is_distributed(strategy) -> bool:
    """True for a strategy other than TensorFlow's default (one device, no distribution) one."""
    import tensorflow as tf

    if strategy is None:
        return False
    with strategy.scope():
        return tf.distribute.has_strategy()


def is_chief(strategy=None) -> bool:
    """Whether this process writes checkpoints and results (``strategy.extended.should_checkpoint``:
    always for one machine, the chief, or worker 0 without a chief, of a cluster)."""
    return strategy is None or bool(strategy.extended.should_checkpoint)


def workers(strategy) -> int:
    """The number of worker processes the strategy spans (1 on one machine)."""
    if strategy is None:
        return 1
    return max(1, strategy.num_replicas_in_sync // max(1, len(strategy.extended.worker_devices)))


def task(strategy) -> Tuple[int, int]:
    """``(index, count)`` of this process among the strategy's workers (chief first)."""
    count = workers(strategy)
    if count == 1:
        return 0, 1
    resolver = strategy.cluster_resolver
    spec = resolver.cluster_spec().as_dict()
    order = [(job, i) for job in ("chief", "worker") for i in range(len(spec.get(job) or ()))]
    return order.index((resolver.task_type, int(resolver.task_id))), len(order)


def barrier(strategy) -> None:
    """Wait until every worker gets here: one all-reduce of the strategy (no-op on one machine)."""
    if workers(strategy) > 1:
        import tensorflow as tf

        strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.constant(1.0)), axis=None)


# ----------------------------------------------------------------------------- training
def check_model(model, strategy) -> None:
    """A clear error when ``model`` was not built under ``strategy.scope()`` (its variables
    would live on one device, and Keras would fail or silently not distribute)."""
    built = getattr(model, "_distribute_strategy", None)  # what Keras recorded at construction (None: none)
    if built is not strategy:
        where = "outside any strategy scope" if built is None else f"under another strategy ({type(built).__name__})"
        raise ValueError(f"model {model.name!r} was built {where}; build and compile it inside "
                         f"strategy.scope() of the {type(strategy).__name__} passed to fit")


def shard_by_data(dataset):
    """``dataset`` with auto-sharding by DATA: each worker takes its part of every global batch
    (the zoo's datasets are built from in-memory tensors, there are no files to shard by)."""
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def prepare_model(model, strategy) -> None:
    """Make a Keras 3 model built under ``strategy`` train under it (idempotent).

    Two Keras 3.15 defects are worked around on this model instance only
    (keras-team/keras#20585, #20329):

    - ``fit`` builds the optimizer and metrics from the first batch after a
      ``strategy.reduce(MEAN)`` of the whole nested batch, which fails under
      ``MultiWorkerMirroredStrategy`` (and under any strategy when the first batch does not
      split evenly); the first replica's shard gives the same shapes.
    - under a multi-worker strategy, the per-replica step logs are reduced with
      ``strategy.reduce(MEAN, v, axis=0)``, which fails on scalars; the steps return them with
      shape ``(1,)``, which reduces to the same mean. (Epoch logs come from the metrics'
      all-reduced variables either way.)
    """
    if getattr(model, "_zoo_prepared_for", None) is strategy:
        return
    check_model(model, strategy)
    if hasattr(model, "_maybe_symbolic_build") and hasattr(model, "_symbolic_build"):
        model._maybe_symbolic_build = types.MethodType(_symbolic_build_from_first_replica, model)
    if workers(strategy) > 1:
        model.train_step = _logs_as_vectors(model.train_step)
        model.test_step = _logs_as_vectors(model.test_step)
    model._zoo_prepared_for = strategy


def _symbolic_build_from_first_replica(self, iterator=None, data_batch=None):
    import tensorflow as tf

    if iterator is not None:
        for _, _, it in iterator:
            batch = next(it)
            strategy = self.distribute_strategy
            data_batch = tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0]
                if isinstance(v, tf.distribute.DistributedValues) else v, batch)
            break
    with self.distribute_strategy.scope():
        self._symbolic_build(data_batch=data_batch)


def _logs_as_vectors(step):
    import tensorflow as tf

    def wrapped(data):
        return tf.nest.map_structure(lambda v: tf.reshape(v, [1]) if getattr(v, "shape", None) is not None
                                     and v.shape.rank == 0 else v, step(data))

    return wrapped


def _replica_local(variable) -> bool:
    """A mirrored variable that each replica updates on its own (no aggregation), e.g. a
    BatchNormalization moving statistic; seed-generator states are re-keyed every epoch."""
    import tensorflow as tf

    value = getattr(variable, "value", None)
    return (isinstance(value, tf.distribute.DistributedValues) and value.aggregation == tf.VariableAggregation.NONE
            and str(variable.dtype).startswith("float") and not variable.path.endswith("seed_generator_state"))


def sync_replica_copies(model, strategy) -> int:
    """Average, over every replica of every worker, the copies of ``model``'s non-trainable
    float variables that replicas update on their own (BatchNormalization moving statistics),
    and give every copy the mean; returns how many variables. All workers must call it."""
    import tensorflow as tf

    variables = [v for v in model.non_trainable_variables if _replica_local(v)]
    if not variables or strategy.num_replicas_in_sync == 1:
        return 0
    fn = getattr(model, "_zoo_sync_fn", None)
    if fn is None:
        @tf.function
        def fn():
            def replica_fn():
                ctx = tf.distribute.get_replica_context()
                for v in variables:
                    v.value.assign(ctx.all_reduce(tf.distribute.ReduceOp.MEAN, v.value.read_value()))
            strategy.run(replica_fn)

        model._zoo_sync_fn = fn
    fn()
    return len(variables)


# ----------------------------------------------------------------------------- sharded extraction
def _record_key(record) -> Tuple[str, str]:
    return (str(record.corpus), str(record.utterance_id))


def shard_records(records: Iterable, index: int, count: int) -> list:
    """The ``index``-th of ``count`` disjoint shards of ``records``: every ``count``-th record in
    (corpus, utterance id) order, so the split does not depend on the order records come in and
    the shards together are every record once."""
    count, index = int(count), int(index)
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard index must be in [0, count) with count >= 1; got index {index}, count {count}")
    ordered = sorted(records, key=_record_key)
    return ordered[index::count]


def current_shard(strategy=None) -> Tuple[int, int]:
    """This process' ``(index, count)``: from a multi-worker ``strategy``; else ``TF_CONFIG``
    (chief first, then workers); else Slurm's ``SLURM_PROCID`` / ``SLURM_NTASKS``; else ``(0, 1)``."""
    if strategy is not None and workers(strategy) > 1:
        return task(strategy)
    config = os.environ.get("TF_CONFIG")
    if config:
        try:
            parsed = json.loads(config)
            cluster, me = parsed["cluster"], parsed["task"]
            order = [(job, i) for job in ("chief", "worker") for i in range(len(cluster.get(job) or ()))]
            return order.index((me["type"], int(me["index"]))), len(order)
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"TF_CONFIG is not a cluster with this task among its chief/workers: {error}") from None
    if os.environ.get("SLURM_PROCID") is not None:
        count = int(os.environ.get("SLURM_STEP_NUM_TASKS") or os.environ.get("SLURM_NTASKS") or 1)
        return int(os.environ["SLURM_PROCID"]), count
    return 0, 1


def warm_cache(records: Sequence, extractors: Mapping[str, object], cache, *,
               shard: Optional[Tuple[int, int]] = None, on_error: str = "skip") -> dict:
    """Extract the features of this process' share of ``records`` into ``cache`` (a
    :class:`zoo.features.cache.FeatureCache`).

    Each of ``count`` processes calls it with its own ``shard=(index, count)`` (default
    :func:`current_shard`) on the same records and the same shared cache folder; together they
    store exactly the entries one :func:`zoo.pipeline.compute_features` pass would (the cache
    writes atomically, so processes never see each other's partial files). A record whose
    extractor raises ``FeatureError`` is counted in ``skipped`` (``on_error="raise"``: raised);
    :func:`zoo.pipeline.compute_features` reports it again when the training job reads.

    Returns ``{"shard", "records", "computed", "hits", "skipped", "examples"}``.
    """
    from zoo.features.base import FeatureError

    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}")
    index, count = shard if shard is not None else current_shard()
    mine = shard_records(records, index, count)
    stats = cache.stats
    hits, misses, recomputed = stats.hits, stats.misses, stats.recomputed
    skipped, examples = 0, []
    for record in mine:
        for name, extractor in extractors.items():
            try:
                cache.get_or_compute(extractor, record)
            except FeatureError as error:
                if on_error == "raise":
                    raise
                skipped += 1
                if len(examples) < 5:
                    examples.append(f"{record.utterance_id} ({name}): {error}")
                break
    result = {"shard": [index, count], "records": len(mine), "computed": stats.misses - misses
              + stats.recomputed - recomputed, "hits": stats.hits - hits, "skipped": skipped, "examples": examples}
    log.info("warm_cache shard %d/%d: %d records, %d computed, %d already cached, %d skipped",
             index, count, result["records"], result["computed"], result["hits"], skipped)
    return result
