"""Our own small word lists for the synthetic transcripts, and a toy letter-to-phone map.

Nothing here is copied from a licensed lexicon: the lists were written for this corpus.
By design the words separate VALENCE well (positive words for happy/excited, negative
words for angry/sad/frustrated) but not AROUSAL: angry and sad draw most of their
emotion words from one shared negative pool, so text alone confuses them, while the
audio (see ``voice.py``) separates arousal and confuses valence.
"""
from __future__ import annotations

import numpy as np

# Neutral carrier words: every utterance is mostly made of these.
FILLER = (
    "i you we they it the a an this that is was are be to of and so well okay just "
    "going know think today there here about what now then maybe yeah right time car "
    "office line form work home paper call meeting tomorrow with my your his her our "
    "have had do did get got can will would could should said tell told see saw look "
    "thing things people guy place room door table phone number name week day night "
    "morning train bus street letter bag coffee dinner plan other next last first "
    "some any more much back over out up down in on at for from by if but or not"
).split()

POSITIVE = (
    "great wonderful love amazing glad fantastic beautiful happy perfect lovely "
    "congratulations awesome delighted brilliant fun thrilled celebrate sweet nice "
    "best wow excellent proud cheerful terrific gorgeous yay enjoy lucky"
).split()

# Shared negative pool: angry, sad and frustrated all draw mostly from here.
NEGATIVE = (
    "bad terrible awful never wrong worst horrible sorry problem miserable no "
    "nothing hard mess ugly unfair sick worse"
).split()

ANGRY = (
    "ridiculous unacceptable stupid damn furious shut enough fault liar outrageous "
    "idiot insane disgusting"
).split()

SAD = "miss alone cry gone hurt tired lonely lost empty sad grief heartbroken".split()

FRUSTRATED = "again waiting forms hours why useless still stuck annoying pointless".split()

SURPRISED = "really seriously unbelievable whoa suddenly unexpected believe shocked".split()

FEARFUL = "scared afraid dangerous careful help worried frightened".split()

# Per generative emotion: (pools, pool weights, fraction of emotion words in the text,
# probability that an utterance of this emotion carries no emotion word at all).
EMOTION_WORDS = {
    "neutral": ((), (), 0.0, 1.0),
    "happy": ((POSITIVE,), (1.0,), 0.35, 0.15),
    "excited": ((POSITIVE, SURPRISED), (0.85, 0.15), 0.35, 0.15),
    "angry": ((NEGATIVE, ANGRY), (0.65, 0.35), 0.35, 0.15),
    "sad": ((NEGATIVE, SAD), (0.65, 0.35), 0.35, 0.15),
    "frustrated": ((NEGATIVE, FRUSTRATED, ANGRY), (0.5, 0.35, 0.15), 0.3, 0.2),
    "surprised": ((SURPRISED, POSITIVE), (0.7, 0.3), 0.3, 0.2),
    "fearful": ((FEARFUL, NEGATIVE), (0.6, 0.4), 0.3, 0.2),
}
# Chance that one emotion word is swapped for a word of a random other pool (text noise).
CROSSTALK = 0.12
ALL_POOLS = (POSITIVE, NEGATIVE, ANGRY, SAD, FRUSTRATED, SURPRISED, FEARFUL)

# Non-verbal tags as they appear in IEMOCAP transcripts (text only: not aligned).
TAGS = {"happy": "[LAUGHTER]", "excited": "[LAUGHTER]", "sad": "[BREATHING]"}

VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
FRICATIVES = ("F", "TH", "S", "SH", "HH", "V", "Z", "DH", "ZH", "CH", "JH")
STOPS = ("P", "T", "K", "B", "D", "G")
SONORANTS = ("M", "N", "NG", "L", "R", "W", "Y")

# Toy grapheme-to-phone map (hand-written; real forced alignment uses the CMU dictionary,
# which we do not ship). Enough to give each word a plausible phone string.
_DIGRAPHS = {"th": ("TH",), "sh": ("SH",), "ch": ("CH",), "ng": ("NG",), "ph": ("F",),
             "ck": ("K",), "ee": ("IY",), "oo": ("UW",), "ou": ("AW",), "ow": ("OW",),
             "ai": ("EY",), "ay": ("EY",), "ea": ("IY",), "oi": ("OY",), "er": ("ER",)}
_LETTERS = {"a": ("AE",), "e": ("EH",), "i": ("IH",), "o": ("AA",), "u": ("AH",), "y": ("IY",),
            "b": ("B",), "c": ("K",), "d": ("D",), "f": ("F",), "g": ("G",), "h": ("HH",),
            "j": ("JH",), "k": ("K",), "l": ("L",), "m": ("M",), "n": ("N",), "p": ("P",),
            "q": ("K",), "r": ("R",), "s": ("S",), "t": ("T",), "v": ("V",), "w": ("W",),
            "x": ("K", "S"), "z": ("Z",)}


def phones(word: str) -> tuple:
    """Phone labels (CMU-style, no stress) for ``word`` by the toy letter map."""
    w = "".join(ch for ch in word.lower() if ch.isalpha())
    out, i = [], 0
    while i < len(w):
        pair = w[i:i + 2]
        if pair in _DIGRAPHS:
            out.extend(_DIGRAPHS[pair])
            i += 2
            continue
        ch = w[i]
        # a final silent 'e' is dropped in longer words, as in "line", "here", "forms"
        if not (ch == "e" and i == len(w) - 1 and len(w) > 3):
            out.extend(_LETTERS[ch])
        i += 1
    # collapse doubled letters ("tt" -> T)
    collapsed = [p for k, p in enumerate(out) if k == 0 or p != out[k - 1]]
    if not any(p in VOWELS for p in collapsed):
        collapsed.insert(min(1, len(collapsed)), "AH")
    return tuple(collapsed)


def words_for(emotion: str, n_words: int, rng: np.random.Generator) -> list:
    """``n_words`` lower-case words for an utterance of the generative ``emotion``."""
    pools, weights, fraction, p_plain = EMOTION_WORDS[emotion]
    words = list(rng.choice(FILLER, size=n_words))
    if pools and rng.random() >= p_plain:
        n_emo = max(1, int(round(fraction * n_words + rng.normal(0, 0.5))))
        slots = rng.choice(n_words, size=min(n_emo, n_words), replace=False)
        for slot in slots:
            if rng.random() < CROSSTALK:
                pool = ALL_POOLS[rng.integers(len(ALL_POOLS))]
            else:
                pool = pools[rng.choice(len(pools), p=np.asarray(weights) / sum(weights))]
            words[slot] = pool[rng.integers(len(pool))]
    elif not pools and rng.random() < 0.1:
        # neutral talk sometimes carries an emotional word too
        pool = ALL_POOLS[rng.integers(len(ALL_POOLS))]
        words[rng.integers(n_words)] = pool[rng.integers(len(pool))]
    return words


def sentence(words: list, emotion: str, rng: np.random.Generator) -> str:
    """The transcript text: capitalised, punctuated, sometimes with a non-verbal tag."""
    text = " ".join("I" if w == "i" else w for w in words)
    text = text[0].upper() + text[1:]
    if emotion in ("angry", "excited", "surprised") and rng.random() < 0.6:
        end = "!"
    elif rng.random() < 0.2:
        end = "?"
    else:
        end = "."
    text += end
    tag = TAGS.get(emotion)
    if tag and rng.random() < 0.15:
        text += " " + tag
    return text
