"""The synthetic corpus: determinism, the exact IEMOCAP_full_release layout and line formats,
alignment/wav agreement, and the designed modality signals (prosody by emotion, text valence)."""
from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from zoo.data import synthetic
from zoo.data.synthetic import faces, lexicon, plan

N = 40
CODES = "neu ang hap exc sad fru sur fea dis oth xxx".split()

SUMMARY_RE = re.compile(
    r"^\[(\d+\.\d{4}) - (\d+\.\d{4})\]\t(Ses\S+)\t(" + "|".join(CODES) + r")\t"
    r"\[(\d\.\d{4}), (\d\.\d{4}), (\d\.\d{4})\]$")
CAT_RE = re.compile(r"^C-(E[1-6]|[FM]1):\t((?:[A-Z][a-z]+; )*[A-Z][a-z]+;)\t\([a-z ]*\)$")
ATT_RE = re.compile(r"^A-(E[1-6]|[FM]1):\tval ([1-5]); act ([1-5]); dom  ([1-5]);\t\([a-z ]*\)$")
TRANS_RE = re.compile(r"^(Ses\S+) \[(\d{3}\.\d{4})-(\d{3}\.\d{4})\]: (.+)$")
UTT_RE = re.compile(r"^Ses(\d\d)([FM])_(impro|script)(\d\d)([ab]?)(?:_(\d)(b?))?_([FM])(\d{3})$")
WD_HEADER = "\t SFrm  EFrm    SegAScr Word"
PH_HEADER = "\t SFrm  EFrm   SegAScr Phone"
ROW_RE = re.compile(r"^\t +(\d+) +(\d+) +(-\d+) (\S.*)$")
TOTAL_RE = re.compile(r"^ Total score: +(-\d+)$")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return synthetic.synthesize(tmp_path_factory.mktemp("syn") / "corpus", seed=0, utterances=N)


@pytest.fixture(scope="module")
def truth(corpus):
    with open(corpus["truth_csv"]) as f:
        return list(csv.DictReader(f))


def _paths(corpus, row, kind, ext):
    return (Path(corpus["iemocap_root"]) / f"Session{row['session']}" / "sentences" / kind
            / row["dialog"] / f"{row['utterance_id']}.{ext}")


def _hashes(root) -> dict:
    root = Path(root)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != synthetic.MARKER}


def _eval_blocks(corpus):
    """{utt: (start, end, code, vad, [C lines], [A lines])} parsed with the exact regexes."""
    blocks = {}
    for f in sorted(Path(corpus["iemocap_root"]).glob("Session*/dialog/EmoEvaluation/*.txt")):
        lines = f.read_text().split("\n")
        assert lines[0] == "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", f
        assert lines[1] == "" and lines[-1] == "" and lines[-2] == "", f
        k = 2
        while k < len(lines) - 1:
            m = SUMMARY_RE.match(lines[k])
            assert m, (f, k, lines[k])
            assert lines[k - 1] == "", (f, k)  # blank line before every block
            cats, atts = [], []
            k += 1
            while lines[k].startswith("C-"):
                assert CAT_RE.match(lines[k]), (f, k, lines[k])
                cats.append(lines[k])
                k += 1
            while lines[k].startswith("A-"):
                a = ATT_RE.match(lines[k])
                assert a, (f, k, lines[k])
                atts.append((a.group(1), tuple(int(a.group(i)) for i in (2, 3, 4))))
                k += 1
            assert lines[k] == "" and cats and atts, (f, k)
            k += 1
            blocks[m.group(3)] = (float(m.group(1)), float(m.group(2)), m.group(4),
                                  tuple(float(m.group(i)) for i in (5, 6, 7)), cats, atts)
    return blocks


def _transcripts(corpus):
    out = {}
    for f in sorted(Path(corpus["iemocap_root"]).glob("Session*/dialog/transcriptions/*.txt")):
        for line in f.read_text().splitlines():
            m = TRANS_RE.match(line)
            assert m, (f, line)
            out[m.group(1)] = (float(m.group(2)), float(m.group(3)), m.group(4))
    return out


def _rows(path, header):
    lines = path.read_text().split("\n")
    assert lines[0] == header and lines[-1] == "", path
    rows = []
    for line in lines[1:-2]:
        m = ROW_RE.match(line)
        assert m, (path, line)
        rows.append((int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4)))
    total = TOTAL_RE.match(lines[-2])
    assert total and int(total.group(1)) == sum(r[2] for r in rows), path
    return rows


# ------------------------------------------------------------------------------------------


def test_summary_counts_match_files(corpus, truth):
    assert corpus["utterances"] == N == len(truth)
    assert corpus["sessions"] == {f"Session{s}": N // 5 for s in range(1, 6)}
    assert len(corpus["speakers"]) == 10 and sum(corpus["speakers"].values()) == N
    assert corpus["improvised"] > 0 and corpus["scripted"] > 0
    assert Counter(r["code"] for r in truth) == Counter(corpus["codes"])
    for code in ("ang", "hap", "exc", "sad", "neu", "fru", "xxx"):
        assert corpus["codes"].get(code, 0) > 0, code
    # 12 % xxx -> round(4.8) = 5; 10 % of the other 35 flipped -> round(3.5) = 4
    assert corpus["codes"]["xxx"] == 5 and corpus["flipped"] == 4
    four = sum(corpus["codes"].get(c, 0) for c in ("ang", "hap", "exc", "sad", "neu"))
    assert sum(corpus["labels_4class"].values()) == four
    assert corpus["labels_4class"]["happy"] == corpus["codes"]["hap"] + corpus["codes"]["exc"]
    for r in truth:  # flips are exactly the rows whose code left the generative emotion
        natural = plan.CODES[r["emotion"]]
        assert (r["code"] not in (natural, "xxx")) == (r["flipped"] == "1"), r


def test_same_seed_same_bytes_other_seed_differs(corpus, tmp_path):
    again = synthetic.synthesize(tmp_path / "again", seed=0, utterances=N)
    other = synthetic.synthesize(tmp_path / "other", seed=1, utterances=N)
    first = _hashes(corpus["root"])
    assert len(first) > 6 * N
    assert _hashes(again["root"]) == first
    changed = _hashes(other["root"])
    wavs = [k for k in first if k.endswith(".wav")]
    assert sum(first[k] != changed.get(k) for k in wavs) == len(wavs)


def test_layout_is_iemocap_full_release(corpus, truth):
    root = Path(corpus["iemocap_root"])
    assert root.name == "IEMOCAP_full_release"
    assert sorted(p.name for p in root.iterdir()) == [f"Session{s}" for s in range(1, 6)]
    expected = set()
    for r in truth:
        for kind, ext in (("wav", "wav"), ("ForcedAlignment", "wdseg"),
                          ("ForcedAlignment", "phseg"), ("image", "png"), ("video", "npy")):
            expected.add(_paths(corpus, r, kind, ext))
        ses = root / f"Session{r['session']}" / "dialog"
        expected.add(ses / "EmoEvaluation" / f"{r['dialog']}.txt")
        expected.add(ses / "transcriptions" / f"{r['dialog']}.txt")
        expected.add(ses / "EmoEvaluation" / "Categorical" / f"{r['dialog']}_e1_cat.txt")
        expected.add(ses / "EmoEvaluation" / "Attribute" / f"{r['dialog']}_e1_atr.txt")
    found = {p for p in root.rglob("*") if p.is_file()}
    assert found == expected


def test_utterance_ids_follow_the_release_pattern(truth):
    led_by_other = 0
    for r in truth:
        m = UTT_RE.match(r["utterance_id"])
        assert m, r["utterance_id"]
        assert int(m.group(1)) == int(r["session"]) and m.group(8) == r["gender"]
        assert r["speaker"] == f"{int(m.group(1))}{m.group(8)}"
        led_by_other += m.group(2) != m.group(8)
    assert led_by_other > 0  # male turns inside F-led dialogs and vice versa
    assert any(r["dialog"] == "Ses05M_script01_1b" for r in truth)


def test_emo_evaluation_lines_and_ratings(corpus, truth):
    blocks = _eval_blocks(corpus)
    assert set(blocks) == {r["utterance_id"] for r in truth}
    odd = Counter()
    for r in truth:
        start, end, code, vad, cats, atts = blocks[r["utterance_id"]]
        assert code == r["code"] and end > start
        external = [a for rater, a in atts if rater.startswith("E")]
        means = np.mean(external, axis=0)
        for written, mean in zip(vad, means):
            if written in (0.5, 5.5):
                odd[written] += 1
            else:
                assert written == pytest.approx(mean, abs=5e-5)
    assert odd[0.5] >= 1 and odd[5.5] >= 1  # exercised clipping
    # valence ratings follow the generative emotion
    val = defaultdict(list)
    for r in truth:
        val[r["emotion"]].append(float(r["valence"]))
    assert np.mean(val["happy"] + val["excited"]) > np.mean(val["angry"] + val["sad"]) + 1.0


def test_transcriptions_match_evaluation_and_wavs(corpus, truth):
    trans, blocks = _transcripts(corpus), _eval_blocks(corpus)
    xx = [u for u in trans if "XX" in u.rsplit("_", 1)[1]]
    assert set(trans) - set(xx) == set(blocks)
    for r in truth:
        start, end, text = trans[r["utterance_id"]]
        assert (start, end) == pytest.approx(blocks[r["utterance_id"]][:2], abs=1e-9)
        info = sf.info(str(_paths(corpus, r, "wav", "wav")))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
        assert 1.0 <= info.duration <= 3.3
        assert end - start == pytest.approx(info.duration, abs=1e-4)
    for u in xx:  # unlabelled turns: no wav anywhere
        assert not list(Path(corpus["iemocap_root"]).rglob(f"{u}.wav"))


def test_alignment_files_cover_the_wav(corpus, truth):
    trans = _transcripts(corpus)
    for r in truth:
        n = sf.info(str(_paths(corpus, r, "wav", "wav"))).frames
        words = _rows(_paths(corpus, r, "ForcedAlignment", "wdseg"), WD_HEADER)
        phones = _rows(_paths(corpus, r, "ForcedAlignment", "phseg"), PH_HEADER)
        for rows in (words, phones):
            assert rows[0][0] == 0 and (rows[-1][1] + 1) * 160 == n
            assert all(b[0] == a[1] + 1 for a, b in zip(rows, rows[1:]))  # contiguous
        assert words[0][3] == "<s>" and words[-1][3] == "</s>"
        spoken = [re.sub(r"\(\d\)$", "", w[3]) for w in words if not w[3].startswith("<")]
        text = re.sub(r"\[[A-Z]+\]", "", trans[r["utterance_id"]][2])
        assert spoken == [w.upper() for w in re.findall(r"[A-Za-z']+", text)]
        for p in phones:
            fields = p[3].split()
            assert fields == ["SIL"] or (len(fields) == 4 and fields[3] in "bies"), p
        assert {p[3].split()[0] for p in phones} <= set(lexicon.VOWELS + lexicon.FRICATIVES
                                                        + lexicon.STOPS + lexicon.SONORANTS + ("SIL",))


def _segments(corpus, row, labels):
    y, _ = sf.read(str(_paths(corpus, row, "wav", "wav")))
    rows = _rows(_paths(corpus, row, "ForcedAlignment", "phseg"), PH_HEADER)
    return [y[s * 160:(e + 1) * 160] for s, e, _, ph in rows if ph.split()[0] in labels]


def test_vowel_segments_are_voiced_and_fricatives_are_noise(corpus, truth):
    vowels, hiss = [], []
    for r in truth:
        for seg in _segments(corpus, r, lexicon.VOWELS):
            vowels.append(np.mean(np.abs(np.diff(np.sign(seg))) > 0))
        for seg in _segments(corpus, r, ("S", "SH")):
            hiss.append(np.mean(np.abs(np.diff(np.sign(seg))) > 0))
    assert len(vowels) > 100 and len(hiss) > 10
    assert np.median(vowels) < 0.15 < 0.4 < np.median(hiss)  # zero-crossing rate


def test_prosody_depends_on_emotion(corpus, truth):
    import librosa

    f0, energy, rate = defaultdict(list), defaultdict(list), defaultdict(list)
    gender_f0 = defaultdict(list)
    for r in truth:
        segs = _segments(corpus, r, lexicon.VOWELS)
        voiced = np.concatenate(segs)
        track = librosa.yin(voiced, fmin=60, fmax=600, sr=16000, frame_length=640, hop_length=160)
        f0[r["emotion"]].append((r["gender"], np.log(np.median(track))))
        gender_f0[r["gender"]].append(np.log(np.median(track)))
        energy[r["emotion"]].append(10 * np.log10(np.mean(voiced ** 2)))
        rate[r["emotion"]].append(len(segs) / sf.info(str(_paths(corpus, r, "wav", "wav"))).duration)
    centre = {g: np.mean(v) for g, v in gender_f0.items()}
    rel = {e: np.mean([lf - centre[g] for g, lf in v]) for e, v in f0.items()}
    assert rel["angry"] > rel["sad"] + np.log(1.15)
    assert rel["happy"] > rel["neutral"]
    assert np.mean(energy["angry"]) > np.mean(energy["sad"]) + 5.0
    assert np.mean(rate["angry"]) > np.mean(rate["sad"])


def test_text_words_carry_valence(corpus, truth):
    trans = _transcripts(corpus)
    pos, neg = set(lexicon.POSITIVE), set(lexicon.NEGATIVE + lexicon.ANGRY + lexicon.SAD)
    score, valence = [], []
    for r in truth:
        words = re.findall(r"[a-z']+", trans[r["utterance_id"]][2].lower())
        score.append(sum(w in pos for w in words) - sum(w in neg for w in words))
        valence.append(float(r["valence"]))
    assert np.corrcoef(score, valence)[0, 1] > 0.4


def test_faces_and_clips(corpus, truth):
    from PIL import Image

    for r in truth[:5]:
        img = Image.open(_paths(corpus, r, "image", "png"))
        assert img.size == (128, 128) and img.mode == "RGB"
        clip = np.load(_paths(corpus, r, "video", "npy"))
        assert clip.shape == (6, 64, 128, 3) and clip.dtype == np.uint8  # both actors side by side
        assert clip.std() > 10 and np.abs(np.diff(clip.astype(int), axis=0)).mean() > 1
    # the drawing follows the expression: an open mouth paints more dark-red pixels
    look = faces.Look((200, 160, 130), (100, 100, 100), (40, 30, 20), 0.7)
    shut, wide = (faces.draw(faces.Expression(0, m, 0, 0, 1), look, 128, np.random.default_rng(3))
                  for m in (0.0, 1.0))
    mouth = lambda a: np.sum((a[..., 0] < 140) & (a[..., 1] < 70) & (a[..., 2] < 80))  # noqa: E731
    assert mouth(wide) > mouth(shut) + 100
    # a smile's middle lies below its corners (image rows grow downwards), a frown's above
    centre_minus_corners = {}
    for curve in (1.0, -1.0):
        a = faces.draw(faces.Expression(curve, 0.0, 0, 0, 1), look, 128, np.random.default_rng(3))
        lip = (a[..., 0].astype(int) - a[..., 1] > 50) & (a[..., 1] < 80)  # dark red
        ys, xs = np.nonzero(lip & (np.arange(128)[:, None] > 80))
        mid = np.abs(xs - 64) < 5
        centre_minus_corners[curve] = ys[mid].mean() - ys[np.abs(xs - 64) > 14].mean()
    assert centre_minus_corners[1.0] > 3 and centre_minus_corners[-1.0] < -3


def test_sier_csv(corpus):
    root = Path(corpus["sier_csv"]).parent
    with open(corpus["sier_csv"]) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["label", "speech", "image", "text"]
    assert Counter(r["label"] for r in rows) == Counter(corpus["labels_4class"])
    for r in rows:
        assert (root / r["speech"]).is_file() and (root / r["image"]).is_file()
        assert not Path(r["speech"]).is_absolute() and r["text"]


def test_ensure_corpus_reuses_only_complete_corpora(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    target = synthetic.default_root(seed=2, utterances=20)
    assert str(target).startswith(str(tmp_path / "cache"))
    first = synthetic.ensure_corpus(seed=2, utterances=20)
    marker = target / synthetic.MARKER
    stamp = marker.stat().st_mtime_ns
    second = synthetic.ensure_corpus(seed=2, utterances=20)
    assert second["cached"] and marker.stat().st_mtime_ns == stamp
    assert second["codes"] == first["codes"] and Path(second["root"]) == target.resolve()
    with pytest.raises(ValueError, match="seed=2"):
        synthetic.ensure_corpus(target, seed=3, utterances=20)
    with pytest.raises(FileExistsError):
        synthetic.synthesize(target, seed=2, utterances=20)
    half = tmp_path / "half"
    (half / "IEMOCAP_full_release").mkdir(parents=True)  # no marker: never reused
    with pytest.raises(FileExistsError, match="not a complete"):
        synthetic.ensure_corpus(half, seed=0, utterances=20)


def test_failed_generation_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(synthetic.voice, "render", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        synthetic.synthesize(tmp_path / "c", seed=0, utterances=20)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=">= 20"):
        synthetic.synthesize(tmp_path / "d", utterances=10)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------- through the project's loaders and CLI ----------


def test_iemocap_loader_reads_the_corpus(corpus, truth):
    from zoo.data import load

    trans = _transcripts(corpus)
    n_xx = sum("XX" in u.rsplit("_", 1)[1] for u in trans)
    assert n_xx > 0
    records, report = load("iemocap", corpus["iemocap_root"], classes="4")
    assert Counter(r.label for r in records) == Counter(corpus["labels_4class"])
    assert report.skipped["excluded_class"] == N - sum(corpus["labels_4class"].values())
    assert report.skipped.get("transcript_xx_speaker", 0) == n_xx
    assert set(report.skipped) <= {"excluded_class", "transcript_xx_speaker"}
    by_id = {r["utterance_id"]: r for r in truth}
    for rec in records:
        row = by_id[rec.utterance_id]
        assert rec.gender == row["gender"] and rec.sample_rate == 16000
        assert rec.image_path and rec.image_path.endswith(".png") and Path(rec.image_path).is_file()
        assert rec.video_path and rec.video_path.endswith(".npy") and Path(rec.video_path).is_file()
        assert Path(rec.extra["wdseg"]).is_file() and Path(rec.extra["phseg"]).is_file()
        assert rec.transcript and "[" not in rec.transcript
    assert len({r.speaker for r in records}) == 10

    seven, _ = load("iemocap", corpus["iemocap_root"], classes="7")
    assert Counter(r.label for r in seven) == Counter(corpus["labels_7class"])
    everything, report = load("iemocap", corpus["iemocap_root"], classes="all", strict=True)
    assert len(everything) == N and report.total_skipped == n_xx
    assert sum(r.extra["vad_clipped"] for r in everything) >= 2
    assert all(-1 <= v <= 1 for r in everything for v in (r.valence, r.arousal, r.dominance))


def test_sier_loader_reads_the_csv(corpus):
    from zoo.data import load

    names = ("angry", "happy", "sad", "neutral")
    records, report = load("sier", corpus["sier_csv"], label_names=names, strict=True)
    assert report.total_skipped == 0
    assert Counter(r.label for r in records) == Counter(corpus["labels_4class"])
    assert all(Path(r.audio_path).is_file() and Path(r.image_path).is_file() for r in records)
    assert all(r.transcript for r in records)


def test_cli_synthesize(tmp_path, capsys):
    import json

    from zoo.data.__main__ import main

    assert main(["synthesize", str(tmp_path / "c"), "--seed", "4", "--utterances", "20"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["utterances"] == 20 and summary["seed"] == 4
    assert (tmp_path / "c" / synthetic.MARKER).is_file()
    assert main(["synthesize", str(tmp_path / "c"), "--utterances", "20"]) == 2  # refuses to overwrite
    assert "refusing to overwrite" in capsys.readouterr().err
