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


def test_model_table_counts_parameters_from_the_specs():
    table = registry.model_table(["blstmatt", "dser:acoustic", "csa:conv1d"])
    lines = table.splitlines()
    assert lines[2].startswith("| `blstmatt` | 8,757,637 | `fbank` ← `fbank` | classes | Jalal et al. 2020 (BLSTMATT) |")
    assert lines[3].startswith("| `dser:acoustic` | 912,291 | `hsf` ← `paa_hsf` | valence, arousal, dominance |")
    assert lines[4].endswith("| — (none for this variant) |")


def test_card_carries_docstring_recipe_paper_and_variants():
    text = cards.card("csa")
    assert text.startswith("# `zoo.csa` — ")
    assert "| optimizer | Adam |" in text and "`fbank` ← `fbank`" in text
    assert "| `overall_accuracy` | 0.763 |" in text
    assert "| `csa:chunk20` | `chunk_frames=20` | 238,885 | `overall_accuracy` 0.758, `mean_class_recall` 0.694 |" in text
    assert "| `csa:conv1d` | `conv='1d'` | 119,333 | — |" in text
    import zoo.csa
    assert zoo.csa.__doc__.strip().splitlines()[0] in text


@pytest.mark.parametrize("model", registry.MODEL_MODULES)
def test_committed_model_cards_are_current(model):
    """docs/models/<model>.md is `python -m zoo cards --out docs/models` of the code as it is."""
    from pathlib import Path

    committed = Path(__file__).resolve().parents[1] / "docs" / "models" / f"{model}.md"
    assert committed.read_text() == cards.card(model), f"regenerate: python -m zoo cards --out docs/models"
