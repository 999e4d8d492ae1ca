"""PNG figures of the three analyses (matplotlib, Agg backend, small files).

- :func:`plot_intersection` — heat map of one layer's intersection matrix (Kumar et al. 2021, Table 5);
- :func:`plot_embedding` — 3-D scatter of the PCA embedding per class (their Fig. 4);
- :func:`plot_speech_importance` — waveform with the important parts highlighted and the
  importance curve (ParallelNet Sec. 3.3);
- :func:`plot_image_importance` — Shapley heat map over the image;
- :func:`plot_attention` — attention weights over time with phones and words (Jalal et al.
  2020, Fig. 1).
"""
from __future__ import annotations

import os
from typing import Optional, Sequence

import numpy as np

__all__ = ["plot_intersection", "plot_embedding", "plot_speech_importance", "plot_image_importance",
           "plot_attention", "plot_vowel_consonant"]

_COLOURS = ("tab:red", "tab:orange", "tab:blue", "tab:green", "tab:purple", "tab:brown", "tab:gray")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path, dpi=80):
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    from zoo.io import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    _pyplot().close(fig)
    return path


def plot_intersection(result, path, title: Optional[str] = None):
    """Heat map of ``result.matrix`` (an :class:`~zoo.explain.intersection.IntersectionResult`)."""
    plt = _pyplot()
    names = result.class_names
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * len(names), 0.6 + 0.8 * len(names)))
    matrix = np.asarray(result.matrix, dtype=float)
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            v = matrix[i, j]
            ax.text(j, i, "n/a" if not np.isfinite(v) else f"{v:.3f}", ha="center", va="center",
                    fontsize=8, color="black" if np.isfinite(v) and v > 0.5 else "white")
    fig.colorbar(image, ax=ax, fraction=0.046)
    ax.set_title(title or f"intersection matrix: {result.layer}", fontsize=9)
    return _save(fig, path)


def plot_embedding(result, path, title: Optional[str] = None, max_points: int = 600, seed: int = 0):
    """3-D scatter of the PCA components per class (2-D when fewer than 3 components)."""
    plt = _pyplot()
    comps, labels = np.asarray(result.components), np.asarray(result.labels)
    if len(comps) > max_points:
        keep = np.random.default_rng(seed).choice(len(comps), max_points, replace=False)
        comps, labels = comps[keep], labels[keep]
    three = comps.shape[1] >= 3
    fig = plt.figure(figsize=(4.2, 3.8))
    ax = fig.add_subplot(projection="3d" if three else None)
    for c, name in enumerate(result.class_names):
        rows = comps[labels == c]
        if not len(rows):
            continue
        colour = _COLOURS[c % len(_COLOURS)]
        if three:
            ax.scatter(rows[:, 0], rows[:, 1], rows[:, 2], s=6, color=colour, label=name, alpha=0.7)
        else:
            ax.scatter(rows[:, 0], rows[:, 1] if comps.shape[1] > 1 else np.zeros(len(rows)), s=6,
                       color=colour, label=name, alpha=0.7)
    ax.set_xlabel("PC1", fontsize=8)
    ax.set_ylabel("PC2", fontsize=8)
    if three:
        ax.set_zlabel("PC3", fontsize=8)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=7, loc="upper left", markerscale=2)
    ax.set_title(title or f"embedding: {result.layer}", fontsize=9)
    return _save(fig, path)


def plot_speech_importance(signal: np.ndarray, sample_rate: int, importance: np.ndarray, keep: np.ndarray,
                           path, title: str = "", transcript: Optional[str] = None):
    """Waveform in grey with the kept (important) parts in colour, importance curve below."""
    from .shapley import samples_mask

    plt = _pyplot()
    signal = np.asarray(signal, dtype=float)
    t = np.arange(len(signal)) / float(sample_rate)
    kept = samples_mask(keep, len(signal))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 3.4), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    top.plot(t, signal, color="0.75", linewidth=0.5)
    top.plot(t, np.where(kept, signal, np.nan), color="tab:red", linewidth=0.5)
    top.set_ylabel("waveform", fontsize=8)
    heading = title + (f"\nkept speech transcribed: {transcript!r}" if transcript else "")
    top.set_title(heading, fontsize=8)
    steps = (np.arange(len(importance)) + 0.5) * (t[-1] if len(t) else 1.0) / len(importance)
    bottom.bar(steps, importance, width=steps[1] - steps[0] if len(steps) > 1 else 0.01,
               color=np.where(keep, "tab:red", "0.6"))
    bottom.axhline(np.percentile(importance, 30), color="black", linewidth=0.6, linestyle="--")
    bottom.set_ylabel("Shapley / step", fontsize=8)
    bottom.set_xlabel("time (s)", fontsize=8)
    for ax in (top, bottom):
        ax.tick_params(labelsize=7)
    return _save(fig, path)


def plot_image_importance(image: np.ndarray, importance: np.ndarray, path, title: str = "",
                          spectrogram: bool = False):
    """The input beside its Shapley map (red = raises the score, blue = lowers it)."""
    plt = _pyplot()
    image = np.asarray(image, dtype=float)
    imp = np.asarray(importance, dtype=float)
    imp = imp.mean(axis=-1) if imp.ndim == 3 else imp
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.0, 3.0))
    if spectrogram:
        left.imshow(image[..., 0] if image.ndim == 3 else image, origin="lower", aspect="auto", cmap="magma")
        left.set_xlabel("time", fontsize=8)
        left.set_ylabel("mel band", fontsize=8)
    else:
        left.imshow(np.clip(image, 0, 1))
        left.axis("off")
    bound = float(np.max(np.abs(imp))) or 1.0
    shown = right.imshow(imp, cmap="coolwarm", vmin=-bound, vmax=bound,
                         origin="lower" if spectrogram else "upper", aspect="auto" if spectrogram else "equal")
    if not spectrogram:
        right.imshow(np.clip(image, 0, 1), alpha=0.25)
        right.axis("off")
    fig.colorbar(shown, ax=right, fraction=0.046)
    right.set_title("Shapley value per pixel", fontsize=8)
    left.set_title(title, fontsize=8)
    for ax in (left, right):
        ax.tick_params(labelsize=6)
    return _save(fig, path)


def plot_attention(curves: dict, centres: dict, phones: Sequence, words: Sequence, path, title: str = ""):
    """Attention weights over time (one line per curve), vowels shaded, phones and words named.

    ``curves``: ``{name: weights (T,)}``; ``centres``: ``{name: frame centre times (T,)}``;
    ``phones``/``words``: :class:`~zoo.explain.attention.Segment` lists (may be empty).
    """
    from .attention import phone_class

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    for k, (name, weights) in enumerate(curves.items()):
        ax.plot(centres[name], weights, marker=".", markersize=2, linewidth=0.9,
                color=_COLOURS[(k + 2) % len(_COLOURS)], label=name)
    top = max(float(np.max(w)) for w in curves.values()) if curves else 1.0
    for seg in phones:
        kind = phone_class(seg.label)
        if kind == "vowel":
            ax.axvspan(seg.start_s, seg.end_s, color="gold", alpha=0.25, linewidth=0)
        ax.axvline(seg.start_s, color="0.85", linewidth=0.4)
        if kind != "other":
            ax.text((seg.start_s + seg.end_s) / 2, -0.06 * top, seg.label, ha="center", va="top", fontsize=5,
                    color="darkgoldenrod" if kind == "vowel" else "0.3")
    for seg in words:
        if phone_class(seg.label) == "other":
            continue
        ax.text((seg.start_s + seg.end_s) / 2, 1.08 * top, seg.label.lower(), ha="center", va="bottom", fontsize=7)
        ax.axvline(seg.start_s, color="0.6", linewidth=0.6, linestyle=":")
    ax.set_ylim(-0.16 * top, 1.2 * top)
    ax.set_xlabel("time (s)   (vowels shaded)", fontsize=8)
    ax.set_ylabel("attention weight", fontsize=8)
    ax.tick_params(labelsize=7)
    if len(curves) > 1:
        ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.set_title(title, fontsize=8, pad=14)
    return _save(fig, path)


def plot_vowel_consonant(stats: dict, path, title: str = ""):
    """Bars of the mean relative attention (1 = uniform) on vowels, consonants and other frames."""
    plt = _pyplot()
    names = ["vowel", "consonant", "other"]
    values = [stats[n]["mean_relative"] for n in names]
    fig, ax = plt.subplots(figsize=(3.2, 2.4))
    ax.bar(names, values, color=["gold", "0.5", "0.8"])
    ax.axhline(1.0, color="black", linewidth=0.6, linestyle="--")
    ax.set_ylim(0, 1.3 * max(max(v for v in values if np.isfinite(v)), 1.0))
    for i, n in enumerate(names):
        ax.text(i, values[i], f"{values[i]:.2f}\n({stats[n]['frames']} fr.)", ha="center", va="bottom", fontsize=6)
    ax.set_ylabel("mean relative attention", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=8)
    return _save(fig, path)
