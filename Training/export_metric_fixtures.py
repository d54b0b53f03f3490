"""Export text-metric cross-check fixtures for the Swift tests (Tests/Fixtures/metrics/text.json):
(candidate, reference) pairs of radiology sentences and perturbed copies of them, each with the
scores of the reference Python packages, plus the Porter stem and WordNet lemma names of every word.

    Training/.venv/bin/python Training/export_metric_fixtures.py [--out Tests/Fixtures/metrics/text.json]

References: rouge-score 0.1.2 (RougeScorer(['rougeL'], use_stemmer=False), whose tokenizer both sides
of every pair go through), NLTK 3.10.4 sentence_bleu (weights 0.25 x 4, SmoothingFunction().method1),
meteor_score (defaults), PorterStemmer() (NLTK_EXTENSIONS) and wordnet.synsets() lemma names. NLTK
reads the WordNet 3.0 database of the Debian package wordnet-base (/usr/share/wordnet, `make deps`);
that package has no `lexnames` file, which NLTK's reader requires, so the folder is copied to a
temporary one with the standard WordNet 3.0 lexnames added.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import tarfile
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240611

# The 45 lexicographer files of WordNet 3.0 (number, name, syntactic category), as in its `lexnames`.
LEXNAMES = """adj.all 3|adj.pert 3|adv.all 4|noun.Tops 1|noun.act 1|noun.animal 1|noun.artifact 1|
noun.attribute 1|noun.body 1|noun.cognition 1|noun.communication 1|noun.event 1|noun.feeling 1|noun.food 1|
noun.group 1|noun.location 1|noun.motive 1|noun.object 1|noun.person 1|noun.phenomenon 1|noun.plant 1|
noun.possession 1|noun.process 1|noun.quantity 1|noun.relation 1|noun.shape 1|noun.state 1|noun.substance 1|
noun.time 1|verb.body 2|verb.change 2|verb.cognition 2|verb.communication 2|verb.competition 2|
verb.consumption 2|verb.contact 2|verb.creation 2|verb.emotion 2|verb.motion 2|verb.perception 2|
verb.possession 2|verb.social 2|verb.stative 2|verb.weather 2|adj.ppl 3"""

REGIONS = ["Right lung", "Left lung", "Right upper lung zone", "Left upper lung zone", "Right mid lung zone",
           "Left mid lung zone", "Right lower lung zone", "Left lower lung zone", "Right hilar structures",
           "Left hilar structures", "Right costophrenic angle", "Left costophrenic angle", "Cardiac silhouette",
           "Mediastinum", "Upper mediastinum", "Trachea", "Carina", "Aortic arch", "Right hemidiaphragm",
           "Left hemidiaphragm", "Right clavicle", "Left clavicle", "Spine", "Abdomen", "Right apical zone"]
FINDINGS = ["pleural effusion", "pneumothorax", "consolidation", "atelectasis", "lung opacity", "nodule",
            "mass", "edema", "cardiomegaly", "enlarged cardiac silhouette", "pleural thickening", "fracture",
            "vascular congestion", "hyperaeration", "interstitial lung disease", "calcified nodules"]
SEVERITIES = ["small", "moderate", "large", "mild", "minimal", "severe", "trace", "increasing"]

# Swaps that exercise the three METEOR stages: exact words, Porter stems (effusion/effusions) and
# WordNet synonyms (enlarged/large, small/little, heart/center), with near-misses WordNet lacks.
SUBSTITUTIONS = {
    "enlarged": ["large", "big", "enlarge", "enlarging", "expanded"], "large": ["big", "enlarged", "larger"],
    "heart": ["cardiac", "pump", "hearts", "center"], "cardiac": ["heart", "cardiacs"],
    "small": ["little", "smaller", "minor", "modest"], "little": ["small"], "lung": ["lungs", "pulmonary"],
    "lungs": ["lung"], "effusion": ["effusions", "outpouring", "gush"], "effusions": ["effusion"],
    "normal": ["normally", "formula", "median", "abnormal"], "clear": ["clean", "clears", "cleared", "open"],
    "no": ["not", "none", "nobelium"], "there": ["here", "at that place"], "is": ["are", "be", "was"],
    "are": ["is", "ar", "be"], "mild": ["gentle", "balmy", "slight"], "moderate": ["temperate", "average"],
    "opacity": ["opacities", "opaqueness", "obscurity"], "shows": ["show", "showed", "displays", "demonstrates"],
    "silhouette": ["outline", "shape"], "size": ["sizes", "sized", "magnitude"], "within": ["inside", "in"],
    "limits": ["limit", "bounds", "limitation"], "mediastinum": ["mediastinal"], "pneumothorax": ["pneumothoraces"],
    "focal": ["focus", "local"], "evidence": ["grounds", "evident"], "acute": ["discriminating", "sharp"],
    "right": ["left", "rightfield", "correct"], "left": ["right", "leftover"], "upper": ["top", "speed"],
    "lower": ["bring down", "depressed", "frown"], "consolidation": ["integration", "consolidated"],
    "disease": ["diseases", "diseased"], "healthy": ["good for you", "fit", "sound"], "increased": ["increase", "raised"],
    "severe": ["terrible", "grave", "severely"], "atelectasis": ["collapse"], "mass": ["masses", "bulk", "aggregated"],
}
FILLERS = ["the", "a", "mild", "new", "again", "stable", "bilateral", "xxxx", "of", "seen", "there", "is"]
EXTRAS = [  # odd strings: case, punctuation, non-ASCII letters (separators for rouge-score), digits
    ("Pleural effusión is présent.", "Pleural effusion is present."),
    ("T2-T3 vertebral fracture (old).", "Old fracture of T2/T3 vertebrae."),
    ("Heart size 12.5cm; no CHF!!!", "heart size 12 5 cm no chf"),
    ("naïve café: lungs clear", "Naive cafe, lungs clear."),
    ("ÉLARGISSEMENT cardiaque", "Cardiac enlargement."),
    ("x-ray shows nothing", "X-XXXX shows nothing."),
    ("\u0130stanbul heart", "istanbul heart"),  # Python lower(): 'i' + U+0307
    ("   ", "Lungs are clear."), ("...", "..."), ("", ""), ("", "Heart is normal."), ("Heart is normal.", ""),
    ("Heart", "Heart"), ("heart", "cardiac"), ("lungs", "lung"), ("effusions", "effusion"), ("large", "enlarged"),
    ("the the the the", "the"), ("the", "the the the the"), ("lung lung lung", "lung lung"),
    ("effusion effusion effusion", "effusions effusions"), ("no no no pneumothorax", "no pneumothorax"),
    ("heart heart cardiac cardiac", "cardiac heart cardiac heart"), ("small small", "little little little"),
    ("Cardiac silhouette is healthy.", "The heart is normal in size."), ("Heart size is normal.", "Normal heart size."),
    ("The heart is enlarged.", "Cardiomegaly."), ("The heart is enlarged.", "Heart is large."),
    ("Enlarged cardiac silhouette.", "The heart is enlarged."), ("Small left effusion.", "Little left effusions."),
    ("Lungs are clear bilaterally.", "Clear lungs."), ("No acute cardiopulmonary abnormality.", "No acute disease."),
    ("It is a guide to action which ensures that the military always obeys the commands of the party",
     "It is a guide to action that ensures that the military will forever heed Party commands"),
    ("It is a guide to action which ensures that the military always obeys the commands of the party",
     "It is the guiding principle which guarantees the military forces always being under the command of the Party"),
    ("It is to insure the troops forever hearing the activity guidebook that party direct",
     "It is a guide to action that ensures that the military will forever heed Party commands"),
    ("this is a cat", "non matching hypothesis"),
]
# Words for the stemmer alone: one or more per rule of Porter's steps and NLTK's extensions.
STEM_WORDS = """caresses ponies ties caress cats dies lies skies sky dying lying tying news innings inning outings
outing cannings canning howe proceed exceed succeed feed agreed plastered bled motoring sing conflated troubled
sized hopping tanned falling hissing fizzed failing filing spied cried died happy enjoy spy fly try relational
conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli
vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti
sensibiliti fulli logi analogi triplicate formative formalize electriciti electrical hopeful goodness revival
allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment dependent
adoption homologou communism activate angulariti homologous effective bowdlerize probate rate cease controll
roll generalizations oscillators yyyy yyy syzygy toy by ay is as us a e ii iied ies eed ied ing ed
bilaterally cardiomegaly opacities effusions hyperinflated hyperexpanded atelectatic costophrenic
interstitial pneumothoraces hemidiaphragms""".split()
# Words for the WordNet reader alone: exception lists, detachment rules of each part of speech,
# adjective satellites, capitalised and marked lemma names, and words WordNet lacks.
LEMMA_WORDS = """geese mice women ran went better best worse largest larger bigger biggest hoping running stopped
studies churches dogs boxes buzzes wolves aardwolves abaci lying was were been ates saw fixed
lungs hearts enlarged effusions opacities clearer clearest hugely happily fast inches feet teeth
xxxx chf ct pa ap cm mm t2 1 2003 zzzzz qwerty ii nos""".split()


def write_database(tmp: Path) -> Path:
    folder = tmp / "wordnet"
    shutil.copytree("/usr/share/wordnet", folder, ignore=shutil.ignore_patterns("bin", "pixmaps", "wnres"))
    entries = [e.split() for e in LEXNAMES.replace("\n", "").split("|")]
    assert len(entries) == 45
    (folder / "lexnames").write_text("".join(f"{i:02d}\t{name}\t{pos}\n" for i, (name, pos) in enumerate(entries)))
    return folder


def report_sentences(reports: Path, rng: random.Random, count: int) -> list[str]:
    """`count` distinct FINDINGS/IMPRESSION sentences of the IU X-ray reports, 3 to 14 words."""
    found: list[str] = []
    with tarfile.open(reports) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.name.endswith(".xml"):
                continue
            xml = tar.extractfile(member).read().decode("utf-8")
            for label, text in re.findall(r'<AbstractText Label="(FINDINGS|IMPRESSION)">(.*?)</AbstractText>', xml, re.S):
                for sentence in re.split(r"(?<=\.)\s+", text.strip()):
                    if 3 <= len(sentence.split()) <= 14 and sentence not in found:
                        found.append(sentence)
    return rng.sample(found, count)


def perturb(rng: random.Random, words: list[str]) -> list[str]:
    """A copy of `words` with one to three edits: synonym/stem swaps, reorders, drops, inserts, repeats."""
    out = list(words)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["swap", "swap", "swap", "reorder", "drop", "insert", "repeat", "rotate"])
        if kind == "swap":
            spots = [i for i, w in enumerate(out) if w.lower().strip(".,") in SUBSTITUTIONS]
            if spots:
                i = rng.choice(spots)
                out[i] = rng.choice(SUBSTITUTIONS[out[i].lower().strip(".,")])
        elif kind == "reorder" and len(out) > 1:
            i, j = rng.sample(range(len(out)), 2)
            out[i], out[j] = out[j], out[i]
        elif kind == "drop" and len(out) > 1:
            del out[rng.randrange(len(out))]
        elif kind == "insert":
            out.insert(rng.randrange(len(out) + 1), rng.choice(FILLERS))
        elif kind == "repeat" and out:
            i = rng.randrange(len(out))
            out.insert(i, out[i])
        elif kind == "rotate" and len(out) > 2:
            k = rng.randrange(1, len(out))
            out = out[k:] + out[:k]
    return out


def make_pairs(rng: random.Random, reports: Path) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = list(EXTRAS)
    regions = []
    for _ in range(50):
        region = rng.choice(REGIONS)
        if rng.random() < 0.25:
            regions.append(f"{region} is healthy.")
        else:
            kinds = rng.sample(FINDINGS, rng.choice([1, 1, 2]))
            text = " and ".join(f"{rng.choice(SEVERITIES)} {k}" if rng.random() < 0.6 else k for k in kinds)
            regions.append(f"{region} shows {text}.")
    for sentence in regions[:35]:
        pairs.append((" ".join(perturb(rng, sentence.split())), sentence))
    for a, b in zip(regions[35:], regions[36:]):
        pairs.append((a, b))
    for sentence in report_sentences(reports, rng, 150):
        words = sentence.split()
        if rng.random() < 0.85:
            pairs.append((" ".join(perturb(rng, words)), sentence))
        else:
            pairs.append((sentence, sentence))
    for _ in range(25):  # unrelated report sentences
        a, b = rng.sample([p[1] for p in pairs[len(EXTRAS):]], 2)
        pairs.append((a, b))
    return pairs


def dumps(fixture: dict) -> str:
    """Compact JSON with one line per pair, word or text (readable diffs at ~1% more bytes)."""
    def compact(value) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    lines = []
    for key, value in fixture.items():
        if isinstance(value, list):
            body = ",\n".join(compact(v) for v in value)
            lines.append(f"{compact(key)}:[\n{body}]")
        elif isinstance(value, dict) and key != "packages":
            body = ",\n".join(f"{compact(k)}:{compact(v)}" for k, v in value.items())
            lines.append(f"{compact(key)}:{{\n{body}}}")
        else:
            lines.append(f"{compact(key)}:{compact(value)}")
    return "{" + ",\n".join(lines) + "}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cache = Path(os.environ.get("ANATOMIX_CACHE", ROOT / ".cache"))
    parser.add_argument("--reports", type=Path, default=cache / "xrv" / "NLMCXR_reports.tgz")
    parser.add_argument("--out", type=Path, default=ROOT / "Tests/Fixtures/metrics/text.json")
    args = parser.parse_args()

    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader
    from nltk.stem.porter import PorterStemmer
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer, tokenize

    pinned = {"nltk": "3.10.4", "rouge-score": "0.1.2"}   # Training/requirements-train.txt
    found = {name: metadata.version(name) for name in pinned}
    if found != pinned:
        raise SystemExit(f"the fixtures are defined by {pinned}, found {found}: make train-deps")

    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        nltk.data.path.append(tmp)  # NLTK reads corpora only under its data paths (nltk.pathsec)

        class DebianWordNet(WordNetCorpusReader):
            def map_wn(self, version="wordnet"):
                # The mapping to NLTK's downloadable wordnet serves Open Multilingual Wordnet only and
                # needs index.sense, which wordnet-base lacks; synsets() and lemmas() never use it.
                return None

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "multilingual functions are not available" (no OMW reader)
            wordnet = DebianWordNet(str(write_database(Path(tmp))), None)
        stemmer = PorterStemmer()
        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
        smoothing = SmoothingFunction().method1

        def bleu(references: list[list[str]], hypothesis: list[str]) -> float:
            return float(sentence_bleu(references, hypothesis, weights=(0.25,) * 4, smoothing_function=smoothing))

        pairs, vocabulary = [], set(STEM_WORDS) | set(LEMMA_WORDS)
        for candidate, reference in make_pairs(rng, args.reports):
            c, r = tokenize.tokenize(candidate, None), tokenize.tokenize(reference, None)
            vocabulary |= set(c) | set(r)
            pairs.append({"candidate": candidate, "reference": reference,
                          "rouge_l": scorer.score(reference, candidate)["rougeL"].fmeasure,
                          "bleu4": bleu([r], c), "meteor": float(meteor_score([r], c, wordnet=wordnet))})
        # Several references: METEOR takes the best one, BLEU clips by all and uses the closest length.
        multi = []
        for pair in pairs[len(EXTRAS):len(EXTRAS) + 15]:
            others = [p["reference"] for p in rng.sample(pairs[len(EXTRAS):], rng.randint(1, 3))]
            c = tokenize.tokenize(pair["candidate"], None)
            rs = [tokenize.tokenize(x, None) for x in [pair["reference"], *others]]
            multi.append({"candidate_tokens": " ".join(c), "references_tokens": [" ".join(x) for x in rs],
                          "bleu4": bleu(rs, c), "meteor": float(meteor_score(rs, c, wordnet=wordnet))})
        # The tokenizer on its own (the pairs above go through it too): the odd strings and some reports.
        texts = list(dict.fromkeys(t for p in pairs[:len(EXTRAS) + 40] for t in (p["candidate"], p["reference"])))
        tokens = {t: tokenize.tokenize(t, None) for t in texts}
        words = sorted(vocabulary)
        fixture = {
            "packages": {"nltk": nltk.__version__, "rouge-score": metadata.version("rouge-score"), "wordnet": wordnet.get_version()},
            "seed": SEED, "tokens": tokens, "pairs": pairs, "multi_reference": multi,
            "stems": {w: stemmer.stem(w) for w in words},
            "lemma_names": {w: sorted({l.name() for s in wordnet.synsets(w) for l in s.lemmas()}) for w in words},
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(fixture)
    args.out.write_text(text)
    print(f"{args.out}: {len(pairs)} pairs, {len(multi)} multi-reference, {len(words)} words, {len(text) // 1024} KB")


if __name__ == "__main__":
    main()
