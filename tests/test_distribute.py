"""zoo.distribute and zoo.train.fit(strategy=...): tf.distribute data parallelism on CPUs.

Logical CPU devices have to be configured before TensorFlow initialises, and a multi-worker
strategy before its first operation, so those cases run in child processes (the suite's
process has TensorFlow initialised already). Multi-worker children listen on 127.0.0.1 only,
every wait is bounded, and every child is killed in a ``finally``.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]

# A tiny classifier and its epoch -> dataset factory (order a function of (seed, epoch)), as
# in the resume tests; 64 examples in global batches of 16, so every batch splits evenly.
COMMON = textwrap.dedent('''
    import os, sys, json, signal
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 12)).astype("float32"); Y = (X[:, 0] + X[:, 1] > 0).astype("int32")

    def data(epoch):
        import tensorflow as tf
        key = tf.stack([tf.constant(7, tf.int64), tf.cast(epoch, tf.int64)])
        order = tf.argsort(tf.random.stateless_uniform([64], seed=key))
        return tf.data.Dataset.from_tensor_slices(order).batch(16).map(lambda i: (tf.gather(X, i), tf.gather(Y, i)))

    def validation():
        import tensorflow as tf
        return tf.data.Dataset.from_tensor_slices((X[:24], Y[:24])).batch(16)  # 16 + 8: uneven last batch

    def build(norm=False, dropout=0.0):
        import keras
        keras.utils.set_random_seed(1)
        inp = keras.Input((12,)); h = keras.layers.Dense(16, activation="relu")(inp)
        if norm:
            h = keras.layers.BatchNormalization()(h)
        if dropout:
            h = keras.layers.Dropout(dropout)(h)
        model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(h))
        model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def flat(model):
        return np.concatenate([np.asarray(w).ravel().astype("float64") for w in model.get_weights()])
''')

LOGICAL = COMMON + textwrap.dedent('''
    from zoo import distribute
    devices = distribute.logical_cpus(2)
    import keras, tensorflow as tf
    from zoo import train
    out, work = {}, sys.argv[1]
    two = distribute.make_strategy("mirrored", devices)
    out["replicas"] = two.num_replicas_in_sync

    # 1. The same loss curve on one device and on two replicas (same global batch and seed).
    one = build()
    out["one"] = train.fit(one, data, epochs=4, run_dir=f"{work}/one", seed=3, verbose=0,
                           validation_data=validation())["history"]
    with two.scope():
        model = build()
    out["two"] = train.fit(model, data, epochs=4, run_dir=f"{work}/two", seed=3, verbose=0, strategy=two,
                           validation_data=validation())["history"]
    out["weights_gap"] = float(np.abs(flat(one) - flat(model)).max())

    # 2. BatchNorm + dropout on two replicas: interrupted in epoch 2, resumed = uninterrupted.
    with two.scope():
        clean = build(norm=True, dropout=0.3)
    train.fit(clean, data, epochs=4, run_dir=f"{work}/bn-clean", seed=3, verbose=0, strategy=two)
    bn = next(v for v in clean.non_trainable_variables if v.path.endswith("moving_mean"))
    copies = [c.numpy() for c in bn.value.values]
    out["bn_copies_gap"] = float(np.abs(copies[0] - copies[1]).max())
    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None): self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 2 and batch == 1: raise KeyboardInterrupt
    with two.scope():
        broken = build(norm=True, dropout=0.3)
    try:
        train.fit(broken, data, epochs=4, run_dir=f"{work}/bn-killed", seed=3, verbose=0, strategy=two,
                  callbacks=[Stop()])
    except KeyboardInterrupt:
        pass
    with two.scope():
        again = build(norm=True, dropout=0.3)
    resumed = train.fit(again, data, epochs=4, run_dir=f"{work}/bn-killed", seed=3, verbose=0, strategy=two)
    out["bn_resumed_from"] = resumed["resumed_from"]
    out["bn_resume_gap"] = float(np.abs(flat(clean) - flat(again)).max())

    # 3. Mixed precision under the strategy.
    keras.mixed_precision.set_global_policy("mixed_float16")
    with two.scope():
        mixed = build()
    history = train.fit(mixed, data, epochs=2, run_dir=f"{work}/mixed", seed=3, verbose=0, strategy=two)["history"]
    out["mixed"] = {"loss": [r["loss"] for r in history], "optimizer": type(mixed.optimizer).__name__,
                    "compute": mixed.layers[1].compute_dtype, "kernel": str(mixed.layers[1].kernel.dtype)}
    print("RESULT " + json.dumps(out))
''')


def _child(script, *args, timeout=240, env=None):
    run = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                         timeout=timeout, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(l for l in run.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def test_two_logical_devices_follow_the_one_device_curve_and_resume_exactly(tmp_path):
    """MirroredStrategy over 2 logical CPUs: the loss curve of one device within 1e-5
    (relative; float reduction order is the only difference when every global batch splits
    evenly), validation metrics too (its last batch splits 4 + 4); BatchNorm copies agree
    after an epoch, and an interrupted BatchNorm + dropout run resumes to identical weights."""
    out = _child(LOGICAL, tmp_path)
    assert out["replicas"] == 2
    one, two = out["one"], out["two"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [r[key] for r in two] == pytest.approx([r[key] for r in one], rel=1e-5, abs=1e-6), key
    assert one[-1]["loss"] < one[0]["loss"]  # it trained
    assert out["weights_gap"] < 1e-5
    assert out["bn_copies_gap"] == 0.0
    assert out["bn_resumed_from"] == 1 and out["bn_resume_gap"] == 0.0
    mixed = out["mixed"]
    assert mixed["optimizer"] == "LossScaleOptimizer" and mixed["compute"] == "float16"
    assert mixed["kernel"] == "float32" and all(np.isfinite(mixed["loss"]))


# ----------------------------------------------------------------------------- multi-worker
WORKER = COMMON + textwrap.dedent('''
    index, ports, run_dir, out_dir = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3], sys.argv[4]
    kill_epoch, epochs = int(sys.argv[5]), int(sys.argv[6])
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                          "task": {"type": "worker", "index": index}})
    from zoo import distribute
    strategy = distribute.make_strategy("multiworker")
    import keras
    from zoo import train
    class Kill(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None): self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if index == 1 and self.epoch == kill_epoch and batch == 1:
                os.kill(os.getpid(), signal.SIGKILL)
    distribute.barrier(strategy)  # one all-reduce: both workers get here
    with strategy.scope():
        model = build(norm=True, dropout=0.3)
    try:
        result = train.fit(model, data, epochs=epochs, run_dir=run_dir, seed=3, verbose=0, strategy=strategy,
                           validation_data=validation(), callbacks=[Kill()])
    except Exception:
        import traceback
        traceback.print_exc(); sys.stderr.flush()
        os._exit(1)  # at once (the collective runtime's shutdown waits for its peers)
    np.save(os.path.join(out_dir, f"worker{index}.npy"), flat(model))
    print("RESULT " + json.dumps({"resumed_from": result["resumed_from"], "chief": distribute.is_chief(strategy),
                                  "task": distribute.task(strategy), "history": result["history"]}), flush=True)
    sys.stderr.flush()
    os._exit(0)  # not the collective runtime's slow shutdown
''')


def _free_ports(n):
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _job(run_dir, out_dir, kill_epoch=-1, epochs=4, worker_run_dir=None):
    """Both workers of a 2-worker job on localhost (worker 1 in ``worker_run_dir`` if given);
    the Popen objects."""
    ports = ",".join(map(str, _free_ports(2)))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    folders = [run_dir, worker_run_dir or run_dir]
    return [subprocess.Popen([sys.executable, "-c", WORKER, str(i), ports, str(folders[i]), str(out_dir),
                              str(kill_epoch), str(epochs)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            for i in range(2)]


def _finish(procs, timeout=180):
    """Wait for every worker (bounded); the parsed RESULT line of each."""
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=timeout)
        assert p.returncode == 0, stderr[-3000:]
        results.append(json.loads(next(l for l in stdout.splitlines() if l.startswith("RESULT "))[7:]))
    return results


def _kill_all(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=30)


def test_a_multiworker_job_trains_and_only_the_chief_writes(tmp_path):
    """MultiWorkerMirroredStrategy, 2 workers on 127.0.0.1 (BatchNorm, dropout, validation):
    both end with the same weights and history, the chief wrote the run folder (and only the
    chief's files are in it), the worker wrote nothing there. Started again with a worker that
    does not see the chief's folder, the job stops at once with a clear error on both."""
    procs = []
    try:
        procs = _job(tmp_path / "run", tmp_path, epochs=2)
        first = _finish(procs)
        names = sorted(p.name for p in (tmp_path / "run").iterdir())
        procs = _job(tmp_path / "run", tmp_path, epochs=2, worker_run_dir=tmp_path / "elsewhere")
        split = [p.communicate(timeout=180) + (p.returncode,) for p in procs]
    finally:
        _kill_all(procs)
    for stdout, stderr, code in split:
        assert code == 1 and "ResumeError" in stderr and "do not see the same training state" in stderr, stderr[-2000:]
    assert "resumes from none" in split[1][1] and "resumes from epoch 1 (finished)" in split[0][1]
    assert not (tmp_path / "elsewhere").exists()
    assert [r["chief"] for r in first] == [True, False] and [r["task"] for r in first] == [[0, 2], [1, 2]]
    assert first[0]["history"] == first[1]["history"] and len(first[0]["history"]) == 2
    assert first[0]["history"][-1]["loss"] < first[0]["history"][0]["loss"]
    np.testing.assert_array_equal(np.load(tmp_path / "worker0.npy"), np.load(tmp_path / "worker1.npy"))
    assert names == sorted(["final.weights.h5", "state.json", "log.csv", "history.json", "ckpt-0000.weights.h5",
                            "ckpt-0001.weights.h5", "state-0000.json", "state-0001.json"])


@pytest.mark.slow
def test_multiworker_job_killed_and_restarted_resumes_like_an_uninterrupted_one(tmp_path):
    """MultiWorkerMirroredStrategy, 2 workers on 127.0.0.1 (BatchNorm, dropout, validation):
    worker 1 is SIGKILLed in epoch 2; the chief stops by itself (TensorFlow's peer heartbeat
    aborts its collectives); the restarted job resumes from epoch 1, the last one the chief
    committed, and ends with the weights of an uninterrupted 2-worker job, on both workers.
    Only the chief wrote the folder."""
    procs = []
    try:
        (tmp_path / "clean-out").mkdir()
        procs = _job(tmp_path / "clean", tmp_path / "clean-out")
        clean = _finish(procs)
        reference = np.load(tmp_path / "clean-out" / "worker0.npy")

        (tmp_path / "out").mkdir()
        procs = _job(tmp_path / "run", tmp_path / "out", kill_epoch=2)
        procs[1].wait(timeout=180)
        assert procs[1].returncode == -signal.SIGKILL
        _, stderr = procs[0].communicate(timeout=120)  # the chief stops by itself: its peer sent no heartbeat
        assert procs[0].returncode == 1 and "UnavailableError" in stderr, stderr[-2000:]
        state = json.loads((tmp_path / "run" / "state.json").read_text())
        assert state["epoch"] == 1 and not state.get("finished")

        procs = _job(tmp_path / "run", tmp_path / "out")
        resumed = _finish(procs)
    finally:
        _kill_all(procs)
    assert [r["resumed_from"] for r in resumed] == [1, 1]
    assert [r["chief"] for r in resumed] == [True, False] and [r["task"] for r in resumed] == [[0, 2], [1, 2]]
    np.testing.assert_allclose(np.load(tmp_path / "out" / "worker0.npy"), reference, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "worker1.npy"), np.load(tmp_path / "out" / "worker0.npy"))
    for key in ("loss", "val_loss", "val_accuracy"):  # validation reads the averaged BatchNorm copies
        assert [r[key] for r in resumed[0]["history"]] == pytest.approx([r[key] for r in clean[0]["history"]],
                                                                        rel=1e-5), key
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert not [n for n in names if n.startswith(".")], names  # no temporaries, no worker folders
    assert set(names) == {"final.weights.h5", "state.json", "log.csv", "history.json",
                          "ckpt-0002.weights.h5", "ckpt-0003.weights.h5", "state-0002.json", "state-0003.json"}


# ----------------------------------------------------------------------------- in this process
def _tiny_model():
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(keras.layers.Dense(4)(inp)))
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    return model


def _tiny_data(epoch):
    import tensorflow as tf

    x = np.arange(24, dtype="float32").reshape(8, 3) / 24
    return tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0.5).astype("int32"))).batch(4)


def test_make_strategy_names_and_errors():
    import tensorflow as tf

    from zoo import distribute

    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    assert not distribute.is_distributed(distribute.make_strategy("default")) and not distribute.is_distributed(None)
    one = distribute.make_strategy("mirrored", ["/cpu:0"])
    assert isinstance(one, tf.distribute.MirroredStrategy) and one.num_replicas_in_sync == 1
    assert distribute.is_distributed(one) and distribute.is_chief(one) and distribute.task(one) == (0, 1)
    with pytest.raises(ValueError, match="unknown strategy 'horovod'"):
        distribute.make_strategy("horovod")
    with pytest.raises(ValueError, match="devices= is for strategy 'mirrored'"):
        distribute.make_strategy("multiworker", ["/gpu:0"])


def test_fit_refuses_a_model_built_outside_the_strategy_scope(tmp_path):
    from zoo import distribute, train

    strategy = distribute.make_strategy("mirrored", ["/cpu:0"])
    with pytest.raises(ValueError, match=r"built outside any strategy scope; build and compile it inside strategy"):
        train.fit(_tiny_model(), _tiny_data, epochs=1, run_dir=tmp_path, strategy=strategy, verbose=0)
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_a_mirrored_run_resumes_and_matches_the_plain_run(tmp_path):
    """One-device MirroredStrategy (this process already initialised TF): the strategy path
    (scope, chief writes, DATA sharding, resume under the scope) gives the plain run's weights,
    and a finished run under the strategy is not trained again."""
    import keras

    from zoo import distribute, train

    plain = _tiny_model()
    train.fit(plain, _tiny_data, epochs=3, run_dir=tmp_path / "plain", verbose=0)
    strategy = distribute.make_strategy("mirrored", ["/cpu:0"])

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise KeyboardInterrupt

    with strategy.scope():
        first = _tiny_model()
    with pytest.raises(KeyboardInterrupt):
        train.fit(first, _tiny_data, epochs=3, run_dir=tmp_path / "run", strategy=strategy, verbose=0,
                  callbacks=[Stop()])
    with strategy.scope():
        model = _tiny_model()
    out = train.fit(model, _tiny_data, epochs=3, run_dir=tmp_path / "run", strategy=strategy, verbose=0)
    assert out["resumed_from"] == 1 and out["epochs_run"] == 1
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    with strategy.scope():
        again = _tiny_model()
    # strategy=None: the strategy the model was built under is used.
    assert train.fit(again, _tiny_data, epochs=3, run_dir=tmp_path / "run", verbose=0)["epochs_run"] == 0
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_shards_split_records_independently_of_their_order():
    from zoo import distribute
    from zoo.data.records import Record

    records = [Record(f"u{i:02d}", "c" if i % 3 else "d") for i in range(11)]
    shards = [distribute.shard_records(records, i, 3) for i in range(3)]
    keys = [(r.corpus, r.utterance_id) for s in shards for r in s]
    assert sorted(keys) == sorted((r.corpus, r.utterance_id) for r in records) and len(set(keys)) == 11
    assert [len(s) for s in shards] == [4, 4, 3]
    assert distribute.shard_records(records[::-1], 1, 3) == shards[1]
    with pytest.raises(ValueError, match="shard index must be in"):
        distribute.shard_records(records, 3, 3)


def test_current_shard_from_tf_config_and_slurm(monkeypatch):
    from zoo import distribute

    for name in ("TF_CONFIG", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_NUM_TASKS"):
        monkeypatch.delenv(name, raising=False)
    assert distribute.current_shard() == (0, 1)
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]},
                                                "task": {"type": "worker", "index": 1}}))
    assert distribute.current_shard() == (2, 3)  # chief first, then the workers
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["b:1"]}, "task": {"type": "ps", "index": 0}}))
    with pytest.raises(ValueError, match="TF_CONFIG is not a cluster with this task"):
        distribute.current_shard()
    monkeypatch.delenv("TF_CONFIG")
    monkeypatch.setenv("SLURM_PROCID", "3")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    assert distribute.current_shard() == (3, 4)


def _recordings(folder, n=9):
    import soundfile

    from zoo.data.records import Record

    folder.mkdir()
    rng = np.random.default_rng(0)
    records = []
    for i in range(n):
        path = folder / f"u{i}.wav"
        soundfile.write(path, 0.1 * rng.standard_normal(4000 + 400 * i).astype("float32"), 16000)
        records.append(Record(f"u{i}", "toy", audio_path=str(path), transcript=f"word{i} and more"))
    records.append(Record("missing", "toy", audio_path=str(folder / "missing.wav"), transcript="lost"))
    return records


def _entries(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(Path(root).rglob("*.npy"))}


def test_two_shards_fill_the_cache_exactly_like_one_pass(tmp_path):
    """Two shards warmed one after the other (as two processes would) store the same entries,
    byte for byte, as one compute_features pass; the training job then only reads (all hits)."""
    from zoo import distribute, features, pipeline

    records = _recordings(tmp_path / "wav")
    extractors = {"fbank": features.get("fbank"),
                  "words": features.get("word_ids", vocabulary=features.Vocabulary.build(r.transcript for r in records))}
    one = features.FeatureCache(tmp_path / "one")
    table = pipeline.compute_features(records, extractors, cache=one, on_error="skip")
    assert len(table) == 9 and table.report.total_skipped == 1

    shared = tmp_path / "shared"
    done = [distribute.warm_cache(records, extractors, features.FeatureCache(shared), shard=(i, 2)) for i in range(2)]
    assert [d["records"] for d in done] == [5, 5] and sum(d["skipped"] for d in done) == 1
    assert sum(d["computed"] for d in done) == 2 * 9 and all(d["hits"] == 0 for d in done)
    assert _entries(shared) == _entries(tmp_path / "one") and len(_entries(shared)) == 18

    reader = features.FeatureCache(shared)
    again = pipeline.compute_features(records, extractors, cache=reader, on_error="skip")
    assert (reader.stats.hits, reader.stats.misses) == (18, 0)
    for name in extractors:
        for a, b in zip(again.features[name], table.features[name]):
            np.testing.assert_array_equal(a, b)
    # A shard warmed twice computes nothing the second time.
    assert distribute.warm_cache(records, extractors, features.FeatureCache(shared), shard=(0, 2))["computed"] == 0


def test_the_benchmark_cli_takes_a_strategy(capsys):
    from benchmarks.__main__ import parse_args

    assert parse_args([]).strategy == "default"
    assert parse_args(["--strategy", "multiworker"]).strategy == "multiworker"
    with pytest.raises(SystemExit):
        parse_args(["--strategy", "horovod"])
    assert "invalid choice: 'horovod'" in capsys.readouterr().err


@pytest.mark.slow
def test_an_experiment_under_a_one_device_strategy_predicts_like_the_plain_one(tmp_path):
    """prepare(strategy=...) builds and compiles the fold's model under the scope, trains through
    zoo.train.fit(strategy=...) and predicts the test part in record order: one replica gives the
    plain run's posteriors; the setup names the strategy."""
    import dataclasses

    from zoo import distribute, experiment, profiles

    tiny = dataclasses.replace(profiles.PROFILES["smoke"], name="tiny", max_folds=1, utterances=40,
                               epochs={"blstmatt": 2})
    common = dict(profile=tiny, cache_dir=tmp_path / "cache")
    strategy = distribute.make_strategy("mirrored", ["/cpu:0"])
    exp = experiment.prepare("blstmatt", "synthetic", str(tmp_path / "corpus"), strategy=strategy, **common)
    shared = exp.run(tmp_path / "runs")
    plain = experiment.prepare("blstmatt", "synthetic", str(tmp_path / "corpus"), **common).run(tmp_path / "plain")
    np.testing.assert_allclose(shared["runs"][0]["posteriors"], plain["runs"][0]["posteriors"], atol=1e-6)
    assert shared["setup"]["strategy"].startswith("MirroredStrategy: 1 replicas on 1 worker(s), global batch 16")
    assert "strategy" not in plain["setup"]


def test_the_speed_report_combines_rounds_and_says_there_was_no_gpu():
    from benchmarks.perf import distribute as bench

    def row(arm, seconds, cpu):
        return {"arm": arm, "model": "csa", "replicas": 2 if "2" in arm else 1, "global_batch": 64, "steps": 4,
                "samples": 64, "epoch_seconds": seconds, "cpu_seconds": cpu, "steps_per_second": 4 / seconds[0],
                "size": "filters=(32,)"}

    rows = [bench._combine([row(bench.CPU_ARMS[0], [2.0, 2.0], [1.0, 1.0]), row(bench.CPU_ARMS[0], [4.0], [1.0])]),
            bench._combine([row(bench.CPU_ARMS[2], [1.0, 1.0], [1.2, 1.2]),
                            {"arm": bench.CPU_ARMS[2], "model": "csa", "error": "boom"}])]
    assert rows[0]["steps_per_second"] == 2.0 and rows[0]["round_steps_per_second"] == [2.0, 1.0]
    assert rows[1]["failed_rounds"] == 1 and rows[1]["cpu_ms_per_step"] == 300.0
    text = bench.markdown({"meta": {"command": "python -m benchmarks.perf.distribute", "date": "d", "wall_seconds": 1,
                                    "load_start": 1.0, "load_end": 1.0, "machine": "m", "models": ["csa"],
                                    "sizes": {"csa": "filters=(32,)"}, "gpu": False}, "rows": rows})
    assert "| csa | mirrored, 2 logical CPUs | 2 | 64 | 4 | 2 | 4.00 | 4.00 | 2.00x | 300 | 1.20x |" in text
    assert "**No GPU was available**" in text
