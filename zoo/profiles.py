"""Profiles: how much of each recipe an experiment runs, as data.

A :class:`Profile` keeps or overrides a recipe's epochs, batch size and learning rate, the
builder's sizes and the extractors' options, per model, and says which folds and seeds run.
Every override is printed in the benchmark tables' captions and written into release entries,
so a smoke number is never mistaken for a paper reproduction.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Optional

from zoo.pretrain import FacePretraining



@dataclasses.dataclass(frozen=True)
class Profile:
    """How much of each recipe to run.

    ``epochs``/``batch_size``/``learning_rate``: per-model overrides (absent: the recipe's);
    ``max_folds``: None runs every fold; ``build``: per-model builder overrides (smaller widths on
    CPU); ``features``: per-model, per-input extractor option overrides (e.g. smaller images);
    ``utterances``: size of the built-in corpus; ``validation``: the fraction of training speakers
    held out for validation where the protocol has no development part of its own;
    ``callbacks``: per-model ``(Keras callback class, options)`` pairs that replace the recipe's
    (key ``"*"``: every model without its own); ``class_weights``: ``"balanced"`` weighs each
    training utterance by the inverse frequency of its class; ``augment``: a
    :class:`zoo.augment.SpecAugment` applied to the training batches' frame inputs;
    ``normalize``: ``"speaker"`` standardises every float frame / vector input per speaker
    (:meth:`zoo.pipeline.FeatureTable.normalized_by_speaker`: each speaker, test speakers too, by
    the statistics of its own recordings; labels unused), ``"training"`` (global CMVN) by the mean and
    std of the fold's training part (:meth:`zoo.pipeline.FeatureTable.statistics`; a release stores
    them, so one recording is predicted on its own); ``trim_db``: every audio feature (the
    models' and the baselines') cuts leading and trailing silence first
    (``librosa.effects.trim(top_db=trim_db)``, the extractors' ``trim_db`` option);
    ``peak_normalize``: every audio feature scales its recording to a peak of 1 first (the
    extractors' ``peak_normalize`` option: the recording's gain removed); ``pretrain``:
    per-model pre-training of a backbone before the folds (e.g. :class:`zoo.pretrain.FacePretraining`:
    an object whose ``build_args(records, cache_dir)`` gives the builder arguments and a record of the
    run, and whose ``describe()`` goes into the captions).
    """

    name: str
    description: str
    seeds: tuple = (0,)
    epochs: Dict[str, int] = dataclasses.field(default_factory=dict)
    max_folds: Optional[int] = None
    build: Dict[str, dict] = dataclasses.field(default_factory=dict)
    learning_rate: Dict[str, float] = dataclasses.field(default_factory=dict)
    batch_size: Dict[str, int] = dataclasses.field(default_factory=dict)
    features: Dict[str, Dict[str, dict]] = dataclasses.field(default_factory=dict)
    utterances: int = 500
    validation: float = 0.125
    callbacks: Dict[str, tuple] = dataclasses.field(default_factory=dict)
    class_weights: Optional[str] = None
    augment: Optional[object] = None
    normalize: Optional[str] = None
    trim_db: Optional[float] = None
    peak_normalize: bool = False
    pretrain: Dict[str, object] = dataclasses.field(default_factory=dict)

    def audio_options(self) -> dict:
        """The options every audio extractor gets from this profile (``trim_db``,
        ``peak_normalize``; only those that are set)."""
        return {**({} if self.trim_db is None else {"trim_db": self.trim_db}),
                **({"peak_normalize": True} if self.peak_normalize else {})}

    def callbacks_for(self, model: str):
        """The profile's callbacks for ``model`` (None: keep the recipe's)."""
        return self.callbacks.get(model, self.callbacks.get("*"))


# ParallelNet on a CPU: frozen random MobileNetV2 backbones (their BatchNorm momentum 0.999 cannot
# settle in a few dozen steps), 64x64 inputs, a faster-settling projection BatchNorm.
_CPU_PARALLELNET = {"speech_backbone": "mobilenetv2", "image_backbone": "mobilenetv2",
                    "trainable_backbones": False, "bn_momentum": 0.9,
                    "speech_shape": (64, 64, 1), "image_shape": (64, 64, 3),
                    "fusion_dim": 128, "head_units": (128, 128)}

PROFILES = {
    "smoke": Profile(
        name="smoke",
        description=("CPU smoke profile: few epochs, the first 2 folds, 1 seed, reduced widths "
                     "(see `build` overrides); checks that every model trains and beats chance."),
        seeds=(0,),
        max_folds=2,
        epochs={"gru_bert": 12, "amh": 12, "parallelnet": 8, "blstmatt": 10, "csa": 10, "dser": 30},
        build={
            "gru_bert": {"text_trainable": False},
            "amh": {"modalities": ("audio", "text")},
            "parallelnet": dict(_CPU_PARALLELNET),
            "blstmatt": {"lstm_units": 64, "attention_units": 32},
            "csa": {"filters": (32, 32, 32)},
            # 554 padded text steps cost ~1 GMAC per utterance; built-in transcripts are ~10 words.
            "dser": {"max_length": 32},
        },
        learning_rate={"parallelnet": 1e-4, "blstmatt": 1e-3, "csa": 1e-3},
        # Paper batches (AMH 128, DSER 256) give 2-3 optimizer steps per epoch on 500 utterances.
        batch_size={"blstmatt": 16, "parallelnet": 16, "amh": 32, "dser": 64},
        features={"parallelnet": {"speech": {"size": 64, "n_mels": 64}, "image": {"size": 64}},
                  "dser": {"text": {"max_length": 32}}},
    ),
    "real": Profile(
        name="real",
        description=("Real speech on a CPU: every fold, 3 seeds; class-balanced utterance weights, 20 % of the "
                     "training speakers held out for validation, early stopping on their loss with the best "
                     "epoch restored, ReduceLROnPlateau; reduced widths (see `build` overrides); gru_bert's frozen "
                     "MiniLM read as its own sentence vector (mean of the tokens, L2-normalised). Per-utterance "
                     "CMVN and SpecAugment are available (`features` normalize='utterance', `augment`) but off: "
                     "on EmoDB (5 speaker folds, 1 seed) CMVN + SpecAugment cut gru_bert:audio_only's mean class "
                     "recall from 0.713 to 0.596 (CMVN removes each utterance's level, the arousal cue)."),
        seeds=(0, 1, 2),
        validation=0.2,
        epochs={"blstmatt": 40, "csa": 30, "gru_bert": 40, "amh": 40, "parallelnet": 20, "dser": 60},
        build={
            # mean_l2: the offline MiniLM's own sentence vector (gru_bert module docstring).
            "gru_bert": {"text_trainable": False, "text_pooling": "mean_l2"},
            "amh": {"modalities": ("audio", "text")},
            "parallelnet": dict(_CPU_PARALLELNET),
            "blstmatt": {"lstm_units": 128, "attention_units": 64, "dropout": 0.2},
            # bn_momentum 0.9: chosen on EmoDB's validation speakers (csa module docstring).
            "csa": {"filters": (64, 64, 64), "bn_momentum": 0.9},
            "dser": {"max_length": None},
        },
        learning_rate={"blstmatt": 1e-3, "csa": 1e-3, "gru_bert": 1e-3, "amh": 1e-3, "parallelnet": 1e-4},
        batch_size={"blstmatt": 32, "csa": 64, "gru_bert": 32, "amh": 32, "parallelnet": 16, "dser": 64},
        features={"parallelnet": {"speech": {"size": 64, "n_mels": 64}, "image": {"size": 64}}},
        callbacks={"*": (("EarlyStopping", {"monitor": "val_loss", "patience": 6, "restore_best_weights": True}),
                         ("ReduceLROnPlateau", {"monitor": "val_loss", "patience": 3, "factor": 0.5}))},
        class_weights="balanced",
        augment=None,
    ),
    "paper": Profile(
        name="paper",
        description=("The published recipes as they are: every fold, 3 seeds, paper sizes and epochs, "
                     "pre-trained backbones where the paper used them (ParallelNet's ImageNet VGGs, "
                     "AMH's ImageNet ResNet-101 video features)."),
        seeds=(0, 1, 2),
        # ParallelNet Sec. 3.2: pre-trained VGG16 / VGG19. Offline, building fails at once with
        # zoo.backbones.ImageNetWeightsUnavailable naming the file to pass as backbone_weights.
        build={"parallelnet": {"backbone_weights": "imagenet"}},
        # AMH Sec. 4.2: a pre-trained ResNet-101 on the speaking actor's half of the frame. Offline,
        # zoo.experiment.prepare fails at once with ImageNetWeightsUnavailable naming the file to
        # pass as the video feature's weights (features={"amh": {"video": {"weights": path}}}).
        features={"amh": {"video": {"weights": "imagenet"}}},
    ),
}


# Speaker normalisation on top of `real`: what the field does with a speaker's recordings at hand.
PROFILES["real_sn"] = dataclasses.replace(
    PROFILES["real"], name="real_sn", normalize="speaker",
    description=("The `real` profile with speaker normalisation: every float frame / vector input standardised "
                 "per speaker by the mean and std of that speaker's own recordings (test speakers too, from their "
                 "unlabelled recordings; labels never used). It needs several recordings of each speaker at "
                 "prediction time; `real` does not."))


# Silence trimmed on top of `real_sn`: RAVDESS clips are about half silence, EmoDB's hardly any.
PROFILES["real_sn_trim"] = dataclasses.replace(
    PROFILES["real_sn"], name="real_sn_trim", trim_db=30.0,
    description=("The `real_sn` profile with leading and trailing silence cut from every recording before any audio "
                 "feature, the baselines' included (librosa.effects.trim, 30 dB below the peak)."))


# Peak-normalised on top of `real_sn_trim`: EmoDB's files are peak-normalised (every one peaks at
# about 0 dBFS), RAVDESS' keep the recording level (angry takes ~16 dB louder than neutral ones);
# per-speaker normalisation keeps that level, so a model trained on one corpus misreads the other.
PROFILES["real_sn_trim_peak"] = dataclasses.replace(
    PROFILES["real_sn_trim"], name="real_sn_trim_peak", peak_normalize=True,
    description=("The `real_sn_trim` profile with every recording scaled to a peak of 1 after trimming, before any "
                 "audio feature, the baselines' included (librosa.util.normalize): the recording's gain no longer "
                 "reaches the features, as in corpora shipped peak-normalised (EmoDB)."))


# Trimmed and peak-normalised without speaker normalisation: a model for one recording at a time,
# whatever its gain (the `real` model of EmoDB, trained on files that all peak near 0 dBFS, calls
# a quiet RAVDESS take angry).
PROFILES["real_trim_peak"] = dataclasses.replace(
    PROFILES["real"], name="real_trim_peak", trim_db=30.0, peak_normalize=True,
    description=("The `real` profile with leading and trailing silence cut (librosa.effects.trim, 30 dB below the "
                 "peak) and every recording then scaled to a peak of 1 (librosa.util.normalize) before any audio "
                 "feature, the baselines' included; no speaker normalisation, so a model predicts one recording at "
                 "a time, at any recording gain."))


# Global CMVN on top of `real_trim_peak`: the inputs standardised by the training data's statistics.
PROFILES["real_gn_trim_peak"] = dataclasses.replace(
    PROFILES["real_trim_peak"], name="real_gn_trim_peak", normalize="training",
    description=("The `real_trim_peak` profile with global normalisation: every float frame / vector input "
                 "standardised by the mean and std, per dimension, of every frame of the fold's training part "
                 "(validation and test utterances never contribute); a release stores them, so it still predicts "
                 "one recording at a time."))


# ParallelNet's image backbone pre-trained on faces on top of `real`: the ImageNet weights of the paper
# cannot be had offline, and random frozen ones carry little of a face's expression.
PROFILES["real_fer"] = dataclasses.replace(
    PROFILES["real"], name="real_fer",
    build={**PROFILES["real"].build, "parallelnet": {**_CPU_PARALLELNET, "image_backbone": "face_cnn"}},
    pretrain={"parallelnet": FacePretraining()},
    description=("The `real` profile with ParallelNet's image backbone (zoo's face_cnn, in place of the random "
                 "MobileNetV2) pre-trained as an expression classifier on the FER-2013 faces that the pairing left "
                 "unused (no face of the paired corpus is seen; zoo.pretrain), then frozen; the paper's ImageNet "
                 "weights cannot be had offline."))


def get(name) -> Profile:
    """A profile by name (or a :class:`Profile` as is)."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
