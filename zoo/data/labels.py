"""Label sets and per-corpus code maps.

Canonical label names are lowercase English. The ordered label sets fix the integer class
ids that pipelines use (index into the set):

- ``IEMOCAP_4``: angry, happy, sad, neutral (IEMOCAP ``exc`` merged into happy).
- ``IEMOCAP_7``: the AMH paper's seven classes, ang exc hap sad fru sur neu.

``resolve_classes(classes, presets)`` turns a loader's ``classes`` option (``"4"``, ``"7"``,
``"all"``, an int, or an explicit sequence of label names) into an ordered tuple or ``None``
(= keep every label); ``select_classes(classes, available, corpus)`` also checks that every
requested name is a label the corpus has (a typo such as ``["angyr"]`` is a ``ValueError``,
not an empty class).

:data:`KNOWN_LABELS` is every canonical name of every corpus above; together with the
aliases of :data:`SYNONYMS` it is what the generic manifest accepts by default
(``is_known_label``; ``suggest_label`` proposes the closest name for a typo).
"""
from __future__ import annotations

import difflib
from typing import Iterable, Optional, Tuple, Union

IEMOCAP_4 = ("angry", "happy", "sad", "neutral")
IEMOCAP_7 = ("angry", "excited", "happy", "sad", "frustrated", "surprised", "neutral")
FOUR_BASIC = IEMOCAP_4  # the 4-class subset used on the other acted corpora

# IEMOCAP consensus codes (EmoEvaluation summary lines) -> name. xxx = raters had no majority.
IEMOCAP_CODES = {
    "neu": "neutral", "ang": "angry", "hap": "happy", "exc": "excited", "sad": "sad",
    "fru": "frustrated", "sur": "surprised", "fea": "fearful", "dis": "disgust",
    "oth": "other", "xxx": "no_agreement",
}
# 4-class: excited is merged into happy (the common protocol, 5,531 utterances).
IEMOCAP_4_CODES = {"ang": "angry", "hap": "happy", "exc": "happy", "sad": "sad", "neu": "neutral"}
IEMOCAP_7_CODES = {c: IEMOCAP_CODES[c] for c in ("ang", "exc", "hap", "sad", "fru", "sur", "neu")}

# RAVDESS file-name field 3.
RAVDESS_EMOTIONS = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised",
}
RAVDESS_STATEMENTS = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}

# EmoDB file-name character 6 (German initials: Wut, Langeweile, Ekel, Angst, Freude, Trauer).
EMODB_EMOTIONS = {
    "W": "angry", "L": "boredom", "E": "disgust", "A": "fearful",
    "F": "happy", "T": "sad", "N": "neutral",
}
EMODB_MALE = ("03", "10", "11", "12", "15")
EMODB_FEMALE = ("08", "09", "13", "14", "16")
# The ten EmoDB sentences (file-name characters 3-5), from the corpus documentation.
EMODB_TEXTS = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

# CREMA-D file-name fields 3 (emotion) and 2 (sentence); level LO MD HI XX (unspecified).
CREMAD_EMOTIONS = {
    "ANG": "angry", "DIS": "disgust", "FEA": "fearful",
    "HAP": "happy", "NEU": "neutral", "SAD": "sad",
}
CREMAD_LEVELS = ("LO", "MD", "HI", "XX")
CREMAD_SENTENCES = {
    "IEO": "It's eleven o'clock", "TIE": "That is exactly what happened",
    "IOM": "I'm on my way to the meeting", "IWW": "I wonder what this is about",
    "TAI": "The airplane is almost full", "MTI": "Maybe tomorrow it will be cold",
    "IWL": "I would like a new alarm clock", "ITH": "I think I have a doctor's appointment",
    "DFA": "Don't forget a jacket", "ITS": "I think I've seen this before",
    "TSI": "The surface is slick", "WSI": "We'll stop in a couple of minutes",
}

# MSP-IMPROV consensus codes (Evaluation.txt field 2).
MSP_IMPROV_CODES = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral",
                    "O": "other", "X": "no_agreement"}
# MSP-Podcast EmoClass codes (labels_consensus.csv).
MSP_PODCAST_CODES = {
    "A": "angry", "S": "sad", "H": "happy", "U": "surprised", "F": "fearful",
    "D": "disgust", "C": "contempt", "N": "neutral", "O": "other", "X": "no_agreement",
}

# The IIT-R group's public text+image set: integer labels 0-3.
SIER_LABEL_NAMES = ("happy", "sad", "hate", "angry")
SIER_4 = ("angry", "happy", "hate", "sad")  # the ParallelNet paper's order (anger, happy, hate, sad)

# Spellings seen in manifests / CSVs -> canonical name.
SYNONYMS = {
    "anger": "angry", "ang": "angry", "mad": "angry",
    "happiness": "happy", "joy": "happy", "hap": "happy",
    "sadness": "sad",
    "fear": "fearful", "afraid": "fearful", "fea": "fearful",
    "disgusted": "disgust", "dis": "disgust",
    "surprise": "surprised", "sur": "surprised",
    "neu": "neutral", "neutrality": "neutral",
    "boredom": "boredom", "bored": "boredom",
    "exc": "excited", "excitement": "excited",
    "fru": "frustrated", "frustration": "frustrated",
    "calmness": "calm", "oth": "other",
}

PRESETS_4_7 = {"4": IEMOCAP_4, "7": IEMOCAP_7}

#: Every canonical label name of the corpora above (and the targets of SYNONYMS).
KNOWN_LABELS = frozenset(
    [*IEMOCAP_CODES.values(), *IEMOCAP_7, *RAVDESS_EMOTIONS.values(), *EMODB_EMOTIONS.values(),
     *CREMAD_EMOTIONS.values(), *MSP_IMPROV_CODES.values(), *MSP_PODCAST_CODES.values(),
     *SIER_LABEL_NAMES, *SYNONYMS.values()]
)


def canonical_label(name: str) -> str:
    """Lowercase, strip, and map a known synonym (``"Anger"`` -> ``"angry"``)."""
    key = str(name).strip().lower()
    return SYNONYMS.get(key, key)


def resolve_classes(
    classes: Union[None, str, int, Iterable[str]], presets: Optional[dict] = None
) -> Optional[Tuple[str, ...]]:
    """``"all"``/``None`` -> ``None``; ``"4"``/``4`` etc. -> the preset; a sequence -> tuple.

    Raises ``ValueError`` for an unknown preset name.
    """
    presets = PRESETS_4_7 if presets is None else presets
    if classes is None:
        return None
    if isinstance(classes, int) and not isinstance(classes, bool):
        classes = str(classes)
    if isinstance(classes, str):
        if classes.strip().lower() == "all":
            return None
        if classes.strip() in presets:
            return tuple(presets[classes.strip()])
        raise ValueError(
            f"classes={classes!r}: expected 'all', one of {sorted(presets)} or a sequence of labels"
        )
    names = tuple(canonical_label(c) for c in classes)
    if not names or len(set(names)) != len(names):
        raise ValueError(f"classes={classes!r}: need distinct label names")
    return names


def select_classes(classes, available: Optional[Iterable[str]], corpus: str,
                   presets: Optional[dict] = None) -> Optional[Tuple[str, ...]]:
    """:func:`resolve_classes`, then check every requested name is in ``available``.

    ``available`` is the corpus' own label set (``None``: anything goes). A requested
    name the corpus never has is a ``ValueError`` naming it (with the closest label).
    """
    keep = resolve_classes(classes, presets)
    if keep is None or available is None:
        return keep
    available = tuple(available)
    unknown = [c for c in keep if c not in available]
    if unknown:
        hints = "".join(f"; did you mean {s!r} for {c!r}?" for c in unknown
                        if (s := suggest_label(c, available)) is not None)
        raise ValueError(f"classes={classes!r}: {unknown} not labels of {corpus} "
                         f"(its labels: {list(available)}){hints}")
    return keep


def is_known_label(name: str) -> bool:
    """Whether ``name`` (after :func:`canonical_label`) is in :data:`KNOWN_LABELS`."""
    return canonical_label(name) in KNOWN_LABELS


def suggest_label(name: str, choices: Iterable[str] = KNOWN_LABELS) -> Optional[str]:
    """The closest of ``choices`` (or alias of one) to ``name``, e.g. ``"angyr"`` -> ``"angry"``."""
    choices = tuple(choices)
    pool = {c: c for c in choices}
    pool.update({alias: target for alias, target in SYNONYMS.items() if target in pool})
    match = difflib.get_close_matches(str(name).strip().lower(), sorted(pool), n=1, cutoff=0.6)
    return pool[match[0]] if match else None


def class_index(label_set: Iterable[str]) -> dict:
    """``{"angry": 0, ...}`` for an ordered label set."""
    return {name: i for i, name in enumerate(label_set)}
