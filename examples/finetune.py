"""Fine-tune a model released from real speech on new real speech: the 4-class German EmoDB
release of gru_bert (audio only) -> high / low arousal of English RAVDESS actors it never heard.

    python examples/finetune.py --root path/to/ravdess          # ~2 min on 2 CPU cores
    python examples/finetune.py --root path/to/ravdess --actors 8 --epochs 3

1. The release's own preprocessing: ``zoo.weights.extractors(release)`` (128 log-mel bands,
   40 MFCC, 12 chroma at each file's rate); ``check_features`` would reject any other configuration.
2. New data the release has not seen: another language, other speakers, another label set
   (angry / happy / fearful = "high", neutral / calm / sad = "low" arousal), split
   speaker-independently (a quarter of the actors are held out for the test).
3. ``zoo.weights.load(release, classes=2, new_head=True, freeze="body")``: every body weight of the
   release, a fresh 2-class head. Accuracy at step 0 (untrained head); after a linear probe (the
   frozen body's features computed once, the head trained on them); after fine-tuning every
   layer at a lower learning rate.

``--release blstmatt-synthetic-smoke --synthetic`` runs the same steps on the built-in corpus
(its arousal ratings), without any downloaded data.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LABELS = ("low", "high")
AROUSAL = {"neutral": "low", "calm": "low", "sad": "low", "angry": "high", "happy": "high", "fearful": "high"}


def ravdess_records(root: str, actors: int):
    """RAVDESS speech of the first ``actors`` actors, relabelled low / high arousal (the emotions
    of :data:`AROUSAL`; disgust and surprise are left out)."""
    from zoo import data

    records = data.load("ravdess", root, classes="all").records
    keep = sorted({r.speaker for r in records})[:actors]
    return [dataclasses.replace(r, label=AROUSAL[r.label]) for r in records
            if r.speaker in keep and r.label in AROUSAL]


def synthetic_records(utterances: int, seed: int):
    """Records of a fresh built-in corpus relabelled low / high arousal (rating > 0 = high)."""
    from zoo import data
    from zoo.data import synthetic

    corpus = synthetic.ensure_corpus(seed=seed, utterances=utterances)
    records = data.load("iemocap", corpus["iemocap_root"], classes="all").records
    return [dataclasses.replace(r, label=LABELS[int(r.arousal > 0)]) for r in records if r.arousal is not None]


def accuracy(model, dataset, y_true) -> float:
    from zoo import metrics

    return float(metrics.overall_accuracy(y_true, model.predict(dataset, verbose=0).argmax(-1)))


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--release", default="gru_bert-audio_only-emodb-real")
    p.add_argument("--root", help="the RAVDESS speech folder (Actor_01 ... Actor_24)")
    p.add_argument("--actors", type=int, default=16, help="how many RAVDESS actors to use")
    p.add_argument("--synthetic", action="store_true", help="the built-in corpus instead of RAVDESS")
    p.add_argument("--utterances", type=int, default=200, help="with --synthetic: size of the new corpus")
    p.add_argument("--seed", type=int, default=7, help="with --synthetic: seed of the new corpus")
    p.add_argument("--probe-epochs", type=int, default=100, help="linear-probe epochs (head only, cheap)")
    p.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs (all layers)")
    args = p.parse_args(argv)
    if not args.synthetic and not args.root:
        p.error("--root (the RAVDESS folder) is needed, or --synthetic for the built-in corpus")

    import keras
    import numpy as np

    from zoo import features, pipeline, weights
    from zoo.data import protocols

    keras.utils.set_random_seed(0)
    extractors = weights.extractors(args.release)             # what the release was trained on
    weights.check_features(args.release, extractors)           # (a mismatch would raise here)
    if args.synthetic:
        records = synthetic_records(args.utterances, args.seed)
        fold = protocols.get("session5")(records)[0]
    else:
        records = ravdess_records(args.root, args.actors)
        fold = protocols.get("speaker_kfold")(records, k=4)[0]  # a quarter of the actors for the test
    table = pipeline.compute_features(fold.records, extractors, cache=features.FeatureCache(
        os.environ.get("ZOO_FEATURE_CACHE", os.path.expanduser("~/.cache/zoo/features"))), on_error="skip")
    train = table.select(fold.train_records)
    test = table.select(fold.test_records)
    # lengths=True: each sequence input's true length as <name>_length, what the masks come from.
    train_data = pipeline.make_dataset(train, LABELS, batch_size=16, shuffle=True, seed=0, lengths=True)
    test_data = pipeline.make_dataset(test, LABELS, batch_size=32, lengths=True)
    y_train, y_test = pipeline.label_ids(train.records, LABELS), pipeline.label_ids(test.records, LABELS)
    result = {"chance": float(np.bincount(y_test, minlength=2).max() / len(y_test)),
              "train": len(train), "test": len(test)}

    # The released body (frozen) and a new 2-class head (every zoo classifier ends logits -> predictions).
    model = weights.load(args.release, classes=list(LABELS), new_head=True, freeze="body")
    result["step0"] = accuracy(model, test_data, y_test)

    # Linear probe: the body's features once, then only the head learns (it is shared with `model`).
    body = keras.Model(model.inputs, model.get_layer("logits").input)
    head = keras.Sequential([keras.Input(body.output_shape[1:]), model.get_layer("logits"),
                             model.get_layer("predictions")])
    head.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    ordered = pipeline.make_dataset(train, LABELS, batch_size=32, lengths=True)  # unshuffled: rows match y_train
    head.fit(body.predict(ordered, verbose=0), y_train, epochs=args.probe_epochs, batch_size=32, verbose=0)
    result["linear_probe"] = accuracy(model, test_data, y_test)

    # Fine-tune every layer, gently.
    for layer in model.layers:
        layer.trainable = True
    model.compile(keras.optimizers.Adam(3e-4), "sparse_categorical_crossentropy")
    model.fit(train_data, epochs=args.epochs, verbose=0)
    result["fine_tuned"] = accuracy(model, test_data, y_test)

    print(f"{args.release} ({', '.join(weights.labels(args.release))}) -> arousal {'/'.join(LABELS)}: "
          f"{result['train']} train / {result['test']} test utterances, test accuracy:")
    rows = [("chance (majority class)", result["chance"]), ("step 0 (new head, untrained)", result["step0"]),
            (f"linear probe ({args.probe_epochs} epochs, head only)", result["linear_probe"]),
            (f"fine-tuned ({args.epochs} epochs, all layers)", result["fine_tuned"])]
    for label, value in rows:
        print(f"  {label:<40} {value:.3f}")
    return result


if __name__ == "__main__":
    main()
    sys.exit(0)
