"""The corpus plan: speakers, dialogs, utterance ids, emotions, codes and ratings.

Everything here is metadata drawn from the seed; ``__init__.synthesize`` renders the audio,
faces and files from it. Utterance ids follow the release's pattern
``Ses{SS}{F|M}_{impro|script}{NN}[a|b][_{k}[b]]_{F|M}{NNN}``: the letter after ``SesNN``
names the dialog's lead actor, the last field the speaker (male turns occur inside
F-led dialogs and vice versa).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import faces, voice, writer

# Generative emotions with their corpus shares and IEMOCAP codes.
EMOTION_SHARES = {
    "neutral": 0.24, "angry": 0.16, "happy": 0.11, "excited": 0.13, "sad": 0.16,
    "frustrated": 0.13, "surprised": 0.04, "fearful": 0.03,
}
CODES = {"neutral": "neu", "angry": "ang", "happy": "hap", "excited": "exc", "sad": "sad",
         "frustrated": "fru", "surprised": "sur", "fearful": "fea"}
NO_MAJORITY_SHARE = 0.12  # consensus code "xxx"
LABEL_NOISE = 0.10  # share of (non-xxx) codes flipped away from the generative emotion
CLIPPED_SHARE = 0.01  # utterances with a 0.5 / 5.5 mean rating (the release has seven)

# Mean (valence, activation, dominance) on 1..5 per generative emotion.
VAD_TARGET = {
    "neutral": (3.0, 2.3, 2.7), "angry": (1.8, 3.9, 3.8), "happy": (4.1, 3.2, 3.1),
    "excited": (4.0, 3.8, 3.4), "sad": (1.9, 2.1, 2.1), "frustrated": (2.0, 3.1, 3.2),
    "surprised": (3.4, 3.9, 2.9), "fearful": (2.1, 3.5, 2.0),
}
COMMENTS = ("", "", "", "", "curious", "annoyed", "sarcastic", "tense", "amused", "quiet")


@dataclasses.dataclass
class Speaker:
    session: int
    gender: str
    voice: voice.Voice
    look: faces.Look

    @property
    def speaker_id(self) -> str:
        return f"{self.session}{self.gender}"


@dataclasses.dataclass
class Utterance:
    index: int
    utterance_id: str
    dialog: str
    session: int
    gender: str
    improvised: bool
    emotion: str  # generative emotion (the signal in audio, text and face)
    code: str  # consensus code written to the label file (noisy)
    flipped: bool
    start: float = 0.0  # seconds in the dialog, set when the audio is rendered
    end: float = 0.0
    vad_mean: tuple = (3.0, 3.0, 3.0)
    categorical: list = dataclasses.field(default_factory=list)
    attributes: list = dataclasses.field(default_factory=list)
    text: str = ""

    @property
    def session_dir(self) -> str:
        return f"Session{self.session}"


def quota(n: int, shares: dict) -> dict:
    """Largest-remainder apportionment of ``n`` items to ``shares`` (exact counts)."""
    keys = list(shares)
    raw = np.array([shares[k] for k in keys]) / sum(shares.values()) * n
    counts = np.floor(raw).astype(int)
    for k in np.argsort(-(raw - counts), kind="stable")[: n - counts.sum()]:
        counts[k] += 1
    return dict(zip(keys, counts.tolist()))


def make_speakers(rng: np.random.Generator) -> dict:
    speakers = {}
    for s in range(1, 6):
        for g in "FM":
            female = g == "F"
            v = voice.Voice(
                f0=float(rng.uniform(185, 235) if female else rng.uniform(100, 135)),
                formant_scale=float(rng.uniform(1.12, 1.22) if female else rng.uniform(0.95, 1.05)),
                rate=float(rng.uniform(0.9, 1.1)), jitter=float(rng.uniform(0.003, 0.008)),
                breath=float(rng.uniform(0.05, 0.12) if female else rng.uniform(0.02, 0.08)),
                tilt=float(rng.uniform(0.45, 0.65)), level_db=float(rng.normal(0, 1.5)),
            )
            speakers[(s, g)] = Speaker(s, g, v, faces.speaker_look(rng))
    return speakers


def dialog_names(session: int, count: int) -> list:
    """``count`` dialog names for a session: F- and M-led, improvised and scripted, with the
    release's odd suffixes (``impro05a``/``impro05b`` in session 3, ``script01_1b`` in
    session 5) so that loaders meet them."""
    names = []
    for k in range(count):  # order F-impro, M-script, F-script, M-impro, ... (both kinds early)
        lead, number = "FM"[k % 2], k // 4 + 1
        if k % 4 in (0, 3):
            stem = f"impro{number:02d}"
            if session == 3 and lead == "M" and number <= 2:
                stem = "impro05" + "ab"[number - 1]
        else:
            stem = f"script{number:02d}_{(number - 1) % 3 + 1}"
            if session == 5 and lead == "M" and number == 1:
                stem = "script01_1b"
        names.append(f"Ses{session:02d}{lead}_{stem}")
    return names


def _ratings(u: Utterance, rng: np.random.Generator) -> None:
    """Rater lines consistent with the written code and the generative emotion's V/A/D."""
    names = {c: writer.CATEGORY_NAMES[c] for c in CODES.values()}
    raters = sorted(rng.choice(["E1", "E2", "E3", "E4", "E5", "E6"], size=3, replace=False).tolist())
    if u.code == "xxx":  # no majority: three different votes
        picks = rng.choice(list(names.values()), size=3, replace=False).tolist()
        votes = [[p] for p in picks]
    else:
        main = names[u.code]
        votes = []
        for k in range(3):
            if k == 2 and rng.random() < 0.3:
                votes.append([str(rng.choice(list(names.values())))])
            elif rng.random() < 0.2:
                other = str(rng.choice([n for n in names.values() if n != main]))
                votes.append([main, other])
            else:
                votes.append([main])
    cat = [(r, v, str(rng.choice(COMMENTS))) for r, v in zip(raters, votes)]
    if rng.random() < 0.5:  # the speaking actor's self-evaluation
        cat.append((f"{u.gender}1", votes[0], ""))
    u.categorical = cat

    target = np.array(VAD_TARGET[u.emotion])
    n_att = int(rng.integers(2, 4))
    att = []
    for r in sorted(rng.choice(["E1", "E2", "E3", "E4", "E5", "E6"], size=n_att, replace=False)):
        vals = np.clip(np.rint(target + rng.normal(0, 0.7, 3)), 1, 5).astype(int)
        att.append((str(r), tuple(int(x) for x in vals), str(rng.choice(COMMENTS))))
    u.vad_mean = tuple(float(np.mean([a[1][d] for a in att])) for d in range(3))
    if rng.random() < 0.4:
        vals = np.clip(np.rint(target + rng.normal(0, 0.7, 3)), 1, 5).astype(int)
        att.append((f"{u.gender}1", tuple(int(x) for x in vals), ""))
    u.attributes = att


def make_plan(n: int, rng: np.random.Generator) -> list:
    """Utterance metadata for ``n`` utterances (at least 20: 2 dialogs x 2 turns x 5 sessions)."""
    if n < 20:
        raise ValueError(f"utterances must be >= 20 (two dialogs of two turns per session), got {n}")
    emotions = [e for e, c in quota(n, EMOTION_SHARES).items() for _ in range(c)]
    emotions = [emotions[i] for i in rng.permutation(n)]
    order = rng.permutation(n)
    xxx = set(order[: int(round(NO_MAJORITY_SHARE * n))].tolist())
    flip = set(order[len(xxx): len(xxx) + int(round(LABEL_NOISE * (n - len(xxx))))].tolist())
    clipped = order[len(xxx) + len(flip):][: max(2, int(round(CLIPPED_SHARE * n)))].tolist()

    utts, index = [], 0
    per_session = quota(n, {s: 1 for s in range(1, 6)})
    for session in range(1, 6):
        m = per_session[session]
        n_dialogs = int(np.clip(round(m / 12), 2, 12))
        per_dialog = quota(m, {d: 1 for d in range(n_dialogs)})
        for dialog, k in zip(dialog_names(session, n_dialogs), per_dialog.values()):
            lead = dialog[5]
            improvised = "_impro" in dialog
            turn = {"F": 0, "M": 0}
            gender = lead if rng.random() < 0.7 else ("M" if lead == "F" else "F")
            for j in range(k):
                if j > 0 and rng.random() < 0.75:
                    gender = "M" if gender == "F" else "F"
                if j == k - 1 and turn["F"] * turn["M"] == 0:  # both actors speak in every dialog
                    gender = "F" if turn["F"] == 0 else "M"
                uid = f"{dialog}_{gender}{turn[gender]:03d}"
                turn[gender] += 1
                emo = emotions[index]
                if index in xxx:
                    code, flipped = "xxx", False
                elif index in flip:
                    others = {e: s for e, s in EMOTION_SHARES.items() if CODES[e] != CODES[emo]}
                    code, flipped = CODES[str(rng.choice(list(others), p=np.array(list(others.values())) / sum(others.values())))], True
                else:
                    code, flipped = CODES[emo], False
                u = Utterance(index, uid, dialog, session, gender, improvised, emo, code, flipped)
                _ratings(u, rng)
                utts.append(u)
                index += 1
    for i, k in enumerate(clipped):  # the release's 0.5 / 5.5 oddities
        v = list(utts[k].vad_mean)
        v[i % 3] = 0.5 if i % 2 == 0 else 5.5
        utts[k].vad_mean = tuple(v)
    return utts
