"""What a user sees from the command lines: no TensorFlow start-up noise, a listing from the specs."""
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", *args], cwd=REPOSITORY, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def test_zoo_models_is_quiet_and_lists_every_variant():
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ZOO_TF_LOGS")}
    done = subprocess.run([sys.executable, "-m", "zoo", "models"], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    for noise in ("cuInit", "oneDNN", "cuda_", "absl::InitializeLog"):
        assert noise not in done.stderr, done.stderr
    assert "| `csa:chunk40` | 238,885 |" in done.stdout and "| `dser:acoustic` |" in done.stdout


def test_benchmark_help_names_the_real_profile_and_the_options():
    done = run("benchmarks", "--help")
    assert done.returncode == 0
    for option in ("--classes", "--deterministic", "--utterances", "--publish", "real"):
        assert option in done.stdout, option


def test_benchmark_user_errors_are_one_line_not_a_traceback():
    done = run("benchmarks", "--models", "blstmatt", "--corpus", "ravdess")
    assert done.returncode == 2
    assert "error: a corpus root is needed for corpus 'ravdess' (--root)" in done.stderr
    assert "Traceback" not in done.stderr


def test_quiet_start_drops_tensorflows_retracing_warning_only(caplog, monkeypatch):
    import logging

    from zoo.cli import quiet_tensorflow

    monkeypatch.delenv("ZOO_TF_LOGS", raising=False)
    quiet_tensorflow()
    logger = logging.getLogger("tensorflow")
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        logger.warning("5 out of the last 9 calls to <function f> triggered tf.function retracing. Tracing is ...")
        logger.warning("something else")
    assert [r.getMessage() for r in caplog.records] == ["something else"]
