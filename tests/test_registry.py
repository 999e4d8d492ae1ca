"""The model registry, the models table and the model cards."""
import pytest

import zoo
from zoo import cards, registry


def test_list_models_names_every_variant():
    names = zoo.list_models()
    assert names[:1] == ["gru_bert"] and "gru_bert:reference" in names and "csa:chunk120" in names
    assert {n.split(":")[0] for n in names} == set(registry.MODEL_MODULES)
    assert "default" not in " ".join(n.split(":", 1)[1] for n in names if ":" in n).split()


def test_build_by_name_applies_variant_then_overrides():
    model = zoo.build("blstmatt", lstm_units=4, attention_units=4, classes=3)
    assert model.output_shape == (None, 3)
    assert registry.variant_kwargs("csa:chunk40") == {"chunk_frames": 40}
    with pytest.raises(ValueError, match="unknown model"):
        zoo.build("wav2vec")
    with pytest.raises(ValueError, match="unknown variant"):
        zoo.build("csa:chunk7")


def test_model_table_counts_parameters():
    table = registry.model_table(["blstmatt", "dser:acoustic"])
    lines = table.splitlines()
    assert lines[2].startswith("| `blstmatt` | 8,757,637 | `fbank` (T, 23) | (4) |")
    assert lines[3].startswith("| `dser:acoustic` | 912,291 | `hsf` (68) |")


def test_card_carries_docstring_recipe_paper_and_variants():
    text = cards.card("csa", parameters=False)
    assert text.startswith("# `zoo.csa` — ")
    assert "| optimizer | Adam |" in text and "`fbank` ← `fbank`" in text
    assert "| `overall_accuracy` | 0.763 |" in text
    assert "| `csa:chunk20` | `{'chunk_frames': 20}` |" in text
    import zoo.csa
    assert zoo.csa.__doc__.strip().splitlines()[0] in text
