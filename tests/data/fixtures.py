"""Tiny corpora in their real distributed layouts, for loader (and other) tests.

Every builder writes into a folder you give it (use pytest's ``tmp_path``) and returns
the root to pass to the loader. Wavs are a few ms of 16-bit PCM written with soundfile.

``make_iemocap`` reproduces the release's per-line gotchas: tab-separated summary lines,
multi-label categorical rater lines, ``dom`` after two spaces, V/A/D means of 0.5 and 5.5
(clipped), a male turn inside an F-led dialog, ``[LAUGHTER]`` tags, an unlabelled ``MXX0``
transcription line, ``._*`` AppleDouble files, Categorical/ and Attribute/ sub-folders
that must not be read, a stereo wav, ForcedAlignment files, the dialog avi, and the
synthetic image/video extension for one utterance. ``IEMOCAP_EXPECTED`` holds its
hand-counted contents for reuse (e.g. protocol tests).
"""
from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import soundfile as sf


def write_wav(path, sample_rate: int = 16000, ms: int = 10, channels: int = 1, freq: float = None) -> Path:
    """A short 16-bit PCM sine (``channels`` > 1 gives a stereo/multichannel file).

    The frequency derives from the file name unless given, so that two fixture files never
    hold the same bytes (the loaders report byte-identical files as duplicates).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = max(1, sample_rate * ms // 1000)
    if freq is None:
        freq = 200.0 + zlib.crc32(path.name.encode()) % 2000
    tone = 0.1 * np.sin(2 * np.pi * freq * np.arange(n) / sample_rate)
    data = tone if channels == 1 else np.stack([tone] * channels, axis=1)
    sf.write(str(path), data, sample_rate, subtype="PCM_16")
    return path


def write_text(path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- IEMOCAP
# (utterance id, code, [v, a, d] means, raw transcript text, rater lines)
_IEMOCAP = {
    "Session1": {
        "Ses01F_impro01": [
            ("Ses01F_impro01_F000", "neu", (2.5, 2.5, 2.5), "Excuse me.",
             ["C-E2:\tNeutral;\t()", "C-F1:\tNeutral; Anger;\t()",
              "A-E3:\tval 3; act 2; dom  2;\t()", "A-F1:\tval 2; act 3; dom  3;\t(bored)"]),
            ("Ses01F_impro01_M000", "ang", (1.5, 4.0, 3.5), "Do you have your forms? [LAUGHTER]",
             ["C-E1:\tAnger; Frustration;\t()", "C-E3:\tAnger;\t()", "A-E1:\tval 1; act 4; dom  4;\t()"]),
            ("Ses01F_impro01_F001", "exc", (4.0, 5.5, 3.0), "[BREATHING] Yeah,  great!",
             ["C-E2:\tExcited;\t()"]),
            ("Ses01F_impro01_M001", "xxx", (3.0, 3.0, 3.0), "Okay.",
             ["C-E2:\tNeutral;\t()", "C-E3:\tFrustration;\t()"]),
        ],
        "Ses01F_script01_1": [
            ("Ses01F_script01_1_F000", "sad", (1.0, 2.0, 2.5), "I miss him.", ["C-E1:\tSadness;\t()"]),
            ("Ses01F_script01_1_M000", "fru", (2.0, 3.5, 3.0), "Not again.", ["C-E1:\tFrustration;\t()"]),
            ("Ses01F_script01_1_F001", "hap", (0.5, 3.0, 3.0), "What a day.", ["C-E1:\tHappiness;\t()"]),
        ],
    },
    "Session2": {
        "Ses02M_impro05a": [
            ("Ses02M_impro05a_F003", "neu", (3.0, 2.0, 3.0), "Sure.", ["C-E4:\tNeutral;\t()"]),
            ("Ses02M_impro05a_M000", "sur", (3.5, 4.5, 3.0), "Really?", ["C-E4:\tSurprise;\t()"]),
            ("Ses02M_impro05a_M001", "dis", (2.0, 3.0, 3.0), "Gross.", ["C-E4:\tDisgust;\t()"]),
        ],
        "Ses02M_script03_2b": [
            ("Ses02M_script03_2b_F000", "ang", (2.0, 4.0, 4.0), "Get out.", ["C-E5:\tAnger;\t()"]),
            ("Ses02M_script03_2b_M000", "exc", (4.5, 4.0, 3.5), "We won!", ["C-E5:\tExcited;\t()"]),
        ],
    },
}

IEMOCAP_EXPECTED = {
    "all": {"total": 12, "codes": {"neu": 2, "ang": 2, "exc": 2, "xxx": 1, "sad": 1, "fru": 1,
                                   "hap": 1, "sur": 1, "dis": 1},
            "speakers": {"Ses01_F": 4, "Ses01_M": 3, "Ses02_F": 2, "Ses02_M": 3},
            "gender": {"F": 6, "M": 6}, "improvised": 7, "scripted": 5,
            "sessions": {"Ses01": 7, "Ses02": 5}},
    "4": {"total": 8, "labels": {"angry": 2, "happy": 3, "sad": 1, "neutral": 2},
          "sessions": {"Ses01": 5, "Ses02": 3}},
    "7": {"total": 10, "labels": {"angry": 2, "excited": 2, "happy": 1, "sad": 1,
                                  "frustrated": 1, "surprised": 1, "neutral": 2}},
}


def _eval_file(turns) -> str:
    lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
    t = 6.2901
    for utt, code, (v, a, d), _, raters in turns:
        lines.append(f"[{t:.4f} - {t + 1.9456:.4f}]\t{utt}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]")
        lines.extend(raters)
        lines.append("")
        t += 3.0
    return "\n".join(lines) + "\n"


def _transcription(turns, xx_after: str = None) -> str:
    lines, t = [], 6.2901
    for utt, _, _, text, _ in turns:
        lines.append(f"{utt} [{t:08.4f}-{t + 1.9456:08.4f}]: {text}")
        if utt == xx_after:
            dialog = utt.rsplit("_", 1)[0]
            lines.append(f"{dialog}_MXX0 [{t + 2.0:08.4f}-{t + 2.4:08.4f}]: Mm-hmm.")
        t += 3.0
    return "\n".join(lines) + "\n"


def make_iemocap(base) -> Path:
    """``base/IEMOCAP_full_release`` with Session1 and Session2 (see ``IEMOCAP_EXPECTED``)."""
    from PIL import Image

    root = Path(base) / "IEMOCAP_full_release"
    for session, dialogs in _IEMOCAP.items():
        sdir = root / session
        for dialog, turns in dialogs.items():
            write_text(sdir / "dialog" / "EmoEvaluation" / f"{dialog}.txt", _eval_file(turns))
            xx = turns[0][0] if dialog == "Ses01F_impro01" else None
            write_text(sdir / "dialog" / "transcriptions" / f"{dialog}.txt", _transcription(turns, xx))
            for utt, *_ in turns:
                stereo = utt == "Ses01F_script01_1_F001"
                write_wav(sdir / "sentences" / "wav" / dialog / f"{utt}.wav", channels=2 if stereo else 1)
            # Rater sub-folders in their own (act-first) format: must not be read as summaries.
            first = turns[0][0]
            write_text(sdir / "dialog" / "EmoEvaluation" / "Categorical" / f"{dialog}_e1_cat.txt",
                       f"{first} :Neutral; ()\n[1.0 - 2.0]\tSes09X_bogus_F000\tang\t[1.0, 1.0, 1.0]\n")
            write_text(sdir / "dialog" / "EmoEvaluation" / "Attribute" / f"{dialog}_e1_atr.txt",
                       f"{first} :act 2; val 3; dom  2; ()\n")
    s1 = root / "Session1"
    # AppleDouble strays (macOS copies): one label file, one wav.
    write_text(s1 / "dialog" / "EmoEvaluation" / "._Ses01F_impro01.txt", "\x00\x05\x16\x07 garbage")
    write_text(s1 / "sentences" / "wav" / "Ses01F_impro01" / "._Ses01F_impro01_F000.wav", "\x00\x05")
    # Forced alignment for one utterance, the dialog video, and the synthetic extension.
    fa = s1 / "sentences" / "ForcedAlignment" / "Ses01F_impro01"
    for kind in ("wdseg", "phseg"):
        write_text(fa / f"Ses01F_impro01_F000.{kind}", "SFrm EFrm SegAScr Word\n")
    write_text(s1 / "dialog" / "avi" / "DivX" / "Ses01F_impro01.avi", "not really a video")
    img = s1 / "sentences" / "image" / "Ses01F_impro01" / "Ses01F_impro01_M000.png"
    img.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(img)
    vid = s1 / "sentences" / "video" / "Ses01F_impro01" / "Ses01F_impro01_M000.npy"
    vid.parent.mkdir(parents=True, exist_ok=True)
    np.save(vid, np.zeros((2, 4, 4, 3), np.uint8))
    return root


# --------------------------------------------------------------------------- others
def make_ravdess(base) -> Path:
    """Speech + song zips' layout; one stereo file; one bad code; and the quirks of copies in
    circulation: a file whose name and ``Actor_XX`` folder disagree, a byte copy under another
    repetition's name (same label), a byte-identical pair with different labels, and a wav
    outside any actor folder. See ``RAVDESS_EXPECTED``."""
    root = Path(base) / "RAVDESS"
    speech = root / "Audio_Speech_Actors_01-24"
    write_wav(speech / "Actor_01" / "03-01-05-01-02-01-01.wav", 48000)               # angry M
    write_wav(speech / "Actor_02" / "03-01-03-02-01-02-02.wav", 48000, channels=2)   # happy F, stereo
    write_wav(speech / "Actor_02" / "03-01-01-01-01-01-02.wav", 48000)               # neutral F
    write_wav(speech / "Actor_03" / "03-01-02-01-01-01-05.wav", 48000)               # name: actor 05
    write_wav(speech / "Actor_01" / "03-01-09-01-01-01-01.wav", 48000)               # emotion 09: bad
    write_wav(root / "Audio_Song_Actors_01-24" / "Actor_01" / "03-02-04-01-01-01-01.wav", 48000)  # song
    # Repetition 02 holding repetition 01's bytes: same label and speaker, the later is dropped.
    original = (speech / "Actor_01" / "03-01-05-01-02-01-01.wav").read_bytes()
    (speech / "Actor_01" / "03-01-05-01-02-02-01.wav").write_bytes(original)
    # One recording under two labels (fearful, disgust): both dropped.
    write_wav(speech / "Actor_04" / "03-01-06-01-01-01-04.wav", 48000)
    conflict = (speech / "Actor_04" / "03-01-06-01-01-01-04.wav").read_bytes()
    (speech / "Actor_04" / "03-01-07-01-01-01-04.wav").write_bytes(conflict)
    write_wav(speech / "03-01-01-01-01-01-09.wav", 48000)                            # not in Actor_XX
    return root


RAVDESS_EXPECTED = {
    "records": ["03-01-01-01-01-01-02", "03-01-03-02-01-02-02", "03-01-05-01-02-01-01"],
    "skipped": {"malformed_filename": 1, "excluded_channel": 1, "actor_folder_mismatch": 1,
                "duplicate_audio": 1, "duplicate_audio_conflict": 2, "outside_actor_folder": 1},
}


def make_emodb(base) -> Path:
    root = Path(base) / "emodb"
    for name in ("03a01Wa.wav", "08a02Fc.wav", "16b10Tb.wav", "11a04Lc.wav", "13b01Nb.wav"):
        write_wav(root / "wav" / name)
    write_wav(root / "wav" / "99a01Wa.wav")   # unknown speaker
    write_wav(root / "wav" / "03a01Xa.wav")   # unknown emotion letter
    return root


def make_cremad(base) -> Path:
    root = Path(base) / "CREMA-D"
    for name in ("1001_DFA_ANG_XX.wav", "1002_IEO_HAP_HI.wav", "1002_TIE_NEU_XX.wav",
                 "1091_WSI_SAD_LO.wav", "1001_DFA_XYZ_XX.wav"):
        write_wav(root / "AudioWAV" / name)
    write_text(root / "VideoDemographics.csv",
               "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
               "1002,21,Female,Caucasian,Not Hispanic\n1091,29,Female,Asian,Not Hispanic\n")
    return root


def make_msp_improv(base) -> Path:
    """Label file spelled ``Evalution.txt`` as in some copies; UTD- labels, MSP- audio."""
    root = Path(base) / "MSP-IMPROV"
    ids = [("S01A-F01-S-FM01", 1), ("S01H-M01-R-MM01", 1), ("S02N-F02-P-FM03", 2),
           ("S02S-M02-T-MF01", 2)]
    for key, session in ids:
        write_wav(root / "Audio" / f"session{session}" / key[:4] / key.split("-")[2] / f"MSP-IMPROV-{key}.wav",
                  44100)
    write_text(root / "Evalution.txt", "\n".join([
        "UTD-IMPROV-S01A-F01-S-FM01.avi; A; A:4.500000; V:2.000000; D:3.500000; N:3.000000;",
        "A; Angry; A:4.0; V:2.0; D:3.0; N:3.0;",
        "",
        "UTD-IMPROV-S01H-M01-R-MM01.avi; H; A:3.000000; V:5.500000; D:3.000000; N:4.000000;",
        "",
        "UTD-IMPROV-S02N-F02-P-FM03.avi; N; A:3.000000; V:3.000000; D:3.000000; N:2.000000;",
        "",
        "UTD-IMPROV-S02S-M02-T-MF01.avi; X; A:2.000000; V:2.500000; D:2.000000; N:3.000000;",
        "",
        "UTD-IMPROV-S03A-F03-S-FM01.avi; A; A:4.000000; V:2.000000; D:3.000000; N:3.000000;",  # no wav
        "UTD-IMPROV-S01A-F01-S; A; A:4.0;",                                                  # malformed
    ]) + "\n")
    return root


def make_msp_podcast(base) -> Path:
    root = Path(base) / "MSP-Podcast"
    rows = [
        ("MSP-PODCAST_0001_0008.wav", "A", "7.0", "1.0", "5.5", "127", "Female", "Train"),
        ("MSP-PODCAST_0001_0011.wav", "N", "4.0", "4.0", "4.0", "127", "Female", "Development"),
        ("MSP-PODCAST_0002_0001.wav", "H", "5.2", "6.4", "4.6", "Unknown", "Unknown", "Test1"),
        ("MSP-PODCAST_0003_0001.wav", "C", "3.0", "2.0", "3.0", "8", "Male", "Train"),
        ("MSP-PODCAST_0003_0002.wav", "Q", "3.0", "2.0", "3.0", "8", "Male", "Train"),   # bad code
        ("MSP-PODCAST_0004_0001.wav", "S", "2.0", "2.5", "3.0", "9", "Male", "Train"),   # no wav
    ]
    header = "FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set\n"
    write_text(root / "Labels" / "labels_consensus.csv", header + "".join(",".join(r) + "\n" for r in rows))
    for row in rows[:5]:
        write_wav(root / "Audios" / row[0])
    write_text(root / "Transcripts" / "MSP-PODCAST_0001_0008.txt", "I can't believe\nthis!\n")
    return root


def make_sier(base, header: bool = True) -> Path:
    """``label,speech,image,text`` CSV with integer and string labels; returns the CSV path."""
    root = Path(base) / "sier"
    for i in range(4):
        write_wav(root / "speech" / f"u{i}.wav")
        write_text(root / "images" / f"u{i}.png", "png")
    lines = ["label,speech,image,text"] if header else []
    lines += ["0,speech/u0.wav,images/u0.png,what a lovely day",
              "anger,speech/u1.wav,images/u1.png,i hate this",
              "3,speech/u2.wav,images/u2.png,",
              "Sad,speech/u3.wav,images/u3.png,so alone"]
    return write_text(root / "data.csv", "\n".join(lines) + "\n")


def make_manifest(base) -> Path:
    """A manifest with labels, V/A/D on 1-5, speakers, splits, text and images."""
    root = Path(base) / "mine"
    for i in range(3):
        write_wav(root / "audio" / f"a{i}.wav", 22050)
    write_text(root / "img" / "a0.png", "png")
    write_text(root / "manifest.csv", "\n".join([
        "path,label,valence,arousal,dominance,speaker,gender,split,text,image,age",
        "audio/a0.wav,Anger,1,5,3,spk1,female,train,go away,img/a0.png,30",
        "audio/a1.wav,happiness,4,3,3,spk1,F,train,hello,,",
        "audio/a2.wav,neutral,3,3,3,spk2,male,test,,,41",
    ]) + "\n")
    return root
