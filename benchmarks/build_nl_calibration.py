"""Build the Dutch constructed calibration set from the demo corpus (deterministic, seeded).

Not a test. Every item is one passage of ``src/ragwacht/demo/data/passages.jsonl`` (the Dutch
registers; the English passages are skipped) plus one other passage of the same register as a
distractor, and an answer that is either

* **faithful**: ``extractive`` (one sentence copied), ``extractive_multi`` (two sentences of
  the passage), ``paraphrase`` (one sentence rewritten by meaning-preserving rules: synonyms,
  word order of a few fixed phrases, a dropped example list or parenthesis); or
* **unfaithful**, by one controlled edit of an extracted sentence: ``entity_swap`` (an
  organisation or register replaced by another one the contexts do not mention),
  ``number_swap`` (a number, year or number word changed), ``negation`` (``niet`` inserted,
  or a ``niet``/``geen`` removed), ``role_swap`` (two organisations of the same sentence
  exchanged), ``addition`` (a plausible but unsupported detail appended), ``inference`` (a
  conclusion the passage does not state, from a template or by linking two of its sentences
  with a causal connective).

Each item carries its ``edit`` kind and ``source`` passage id. The data are constructed, not
labelled by people: they measure which kinds of error a judge catches in Dutch, not how often
real chatbots make them.

    .venv/bin/python benchmarks/build_nl_calibration.py          # writes the data folder
    .venv/bin/python benchmarks/build_nl_calibration.py --check  # fails if the file differs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from ragwacht.metrics.claims import split_sentences  # noqa: E402

CORPUS = REPO / "src" / "ragwacht" / "demo" / "data" / "passages.jsonl"
OUT_DIR = REPO / "metrics" / "calibration" / "data"
NAME = "nl_constructed"
VERSION = 1
SEED = 17

# How many items of each kind (fewer where the corpus offers fewer candidates).
TARGETS = {
    "extractive": 90,
    "extractive_multi": 50,
    "paraphrase": 110,
    "entity_swap": 45,
    "number_swap": 40,
    "negation": 45,
    "role_swap": 30,
    "addition": 45,
    "inference": 45,
}
FAITHFUL = {"extractive", "extractive_multi", "paraphrase"}

# Organisations and registers that act in the corpus; swaps draw from the same group.
ACTORS = [
    "het Kadaster",
    "de Belastingdienst",
    "de Waarderingskamer",
    "het CBS",
    "Rijkswaterstaat",
    "ProRail",
    "de gemeenteraad",
    "de gemeente",
    "gemeenten",
    "waterschappen",
    "het waterschap",
    "de provincie",
    "provincies",
    "de notaris",
    "notarissen",
    "de eigenaar",
    "de gebruiker",
    "afnemers",
    "bronhouders",
    "de minister",
    "de huurder",
    "de koper",
    "de verkoper",
    "de bronhouder",
    "de afnemer",
    "de belastingplichtige",
    "hulpdiensten",
]
REGISTERS = ["BAG", "BGT", "BRK", "WOZ", "BRT", "BRP", "Handelsregister"]

# Meaning-preserving rewrites (Dutch), applied as whole words, case kept on the first letter.
SYNONYMS = [
    ("bevat", "omvat"),
    ("gegevens", "informatie"),
    ("meestal", "doorgaans"),
    ("vaak", "dikwijls"),
    ("jaarlijks", "elk jaar"),
    ("elk jaar", "jaarlijks"),
    ("onder meer", "onder andere"),
    ("bijvoorbeeld", "zoals"),
    ("daarnaast", "bovendien"),
    ("gratis", "kosteloos"),
    ("ongeveer", "circa"),
    ("beheert", "is de beheerder van"),
    ("gebruikt", "hanteert"),
    ("alle", "al de"),
    ("iedereen", "eenieder"),
    ("woning", "huis"),
    ("woningen", "huizen"),
    ("vastgelegd", "geregistreerd"),
    ("vastgesteld", "bepaald"),
    ("geregeld", "vastgelegd"),
    ("belangrijk", "van belang"),
    ("snel", "vlot"),
    ("krijgt", "ontvangt"),
    ("ontvangt", "krijgt"),
    ("toont", "laat zien"),
    ("wijzigingen", "veranderingen"),
    ("aanvragen", "verzoeken"),
    ("per", "voor elk"),
]
PREFIXES = ["Kort gezegd: ", "In het kort: ", "Volgens de informatie geldt: "]

NUMBER_WORDS = {
    "één": "twee",
    "twee": "drie",
    "drie": "vier",
    "vier": "vijf",
    "vijf": "zes",
    "zes": "acht",
    "zeven": "negen",
    "acht": "tien",
    "tien": "twaalf",
    "twaalf": "vijftien",
    "honderd": "duizend",
}
FINITE = [
    "is",
    "zijn",
    "wordt",
    "worden",
    "kan",
    "kunnen",
    "moet",
    "moeten",
    "mag",
    "mogen",
    "heeft",
    "hebben",
    "geldt",
    "blijft",
]

ADDITIONS = [
    " Dit gebeurt sinds {year}.",
    " Dat moet binnen {n} weken gebeuren.",
    " Hiervoor geldt een vergoeding van {money} euro.",
    " Dit gebeurt onder toezicht van {actor}.",
    " De gegevens worden daarna {n} jaar bewaard.",
    " {Actor} controleert dit elk kwartaal.",
    " Dit geldt alleen voor de vier grote steden.",
    " Sinds de laatste wetswijziging is ook een digitale handtekening nodig.",
    " Bezwaar maken kan alleen schriftelijk.",
    " Particulieren kunnen deze gegevens via een app van de Rijksoverheid inzien.",
]
INFERENCES = [
    " Daarom hoeft {actor} de gegevens niet zelf te controleren.",
    " Dat betekent dat {actor} hiervoor geen toestemming nodig heeft.",
    " {Actor} is daardoor aansprakelijk voor fouten in de gegevens.",
    " Hieruit volgt dat burgers er zelf niets voor hoeven te doen.",
    " Dat betekent dat de gegevens altijd juist zijn.",
    " Daardoor is de {register} de enige bron die overheidsorganisaties mogen gebruiken.",
]


def cap(s: str) -> str:
    """First letter upper case."""
    return s[:1].upper() + s[1:]


def load_passages() -> list[dict[str, str]]:
    """The Dutch passages of the demo corpus, in file order."""
    out = []
    for line in CORPUS.read_text("utf-8").splitlines():
        if line.strip():
            p = json.loads(line)
            if p["register"] != "EN":
                out.append(p)
    return out


def sentences(text: str) -> list[str]:
    """Sentences long enough to carry a fact."""
    return [s for s in split_sentences(text) if len(s.split()) >= 6]


_ACTOR_RE = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(a) for a in sorted(ACTORS, key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)
_REGISTER_RE = re.compile(r"(?<![\w-])(" + "|".join(REGISTERS) + r")(?![\w-])")


def canonical(mention: str) -> str:
    """The actor's own spelling (``Het Kadaster`` at a sentence start -> ``het Kadaster``)."""
    return next((a for a in ACTORS if a.lower() == mention.lower()), mention)


def actors_in(text: str) -> list[re.Match[str]]:
    """Actor mentions in ``text``."""
    return list(_ACTOR_RE.finditer(text))


def mentioned(name: str, contexts: list[str]) -> bool:
    """Whether any context names ``name`` (word-bounded, case-insensitive)."""
    bare = name.split()[-1]
    pat = re.compile(r"(?<![\w-])" + re.escape(bare) + r"(?![\w])", re.IGNORECASE)
    return any(pat.search(c) for c in contexts)


def with_case(replacement: str, original: str) -> str:
    """``replacement`` with a capital when ``original`` had one."""
    return cap(replacement) if original[:1].isupper() else replacement


# -- edits: each returns the new answer or None when not applicable ------------------------------


def paraphrase(s: str, rng: random.Random) -> str | None:
    """Meaning-preserving rewrite; None when no rule applies."""
    out, applied = s, 0
    # A parenthesis (abbreviation) and a trailing example list can go without changing the claim.
    # (Not one that carries a negation: "(niet ingemeten)" is part of the claim.)
    new = re.sub(r"\s*\((?![^()]*\b(?:niet|geen)\b)[^()]{1,40}\)", "", out)
    if new != out:
        out, applied = new, applied + 1
    m = re.search(r",? zoals [^,.]+(,[^,.]+)*(?=[.])", out)
    if m and m.start() > 30 and rng.random() < 0.5:
        out, applied = out[: m.start()] + out[m.end() :], applied + 1
    order = list(SYNONYMS)
    rng.shuffle(order)
    used = 0
    for a, b in order:
        if used >= 2:
            break
        pat = re.compile(r"(?<![\w-])" + re.escape(a) + r"(?![\w-])", re.IGNORECASE)
        m = pat.search(out)
        if m:
            out = out[: m.start()] + with_case(b, m.group(0)) + out[m.end() :]
            used += 1
    applied += used
    if applied == 0 or rng.random() < 0.3:
        out = rng.choice(PREFIXES) + out[:1].lower() + out[1:] if not out[:3].isupper() else out
        applied += 1
    return out if applied and out != s else None


def entity_swap(s: str, contexts: list[str], rng: random.Random) -> str | None:
    """Replace one actor or register by one the contexts do not mention."""
    found = actors_in(s)
    pool = ACTORS
    if not found:
        found = list(_REGISTER_RE.finditer(s))
        pool = REGISTERS
    if not found:
        return None
    m = rng.choice(found)
    choices = [a for a in pool if not mentioned(a, contexts)]
    # Same grammatical number keeps the sentence well formed (a plural for a plural).
    plural = m.group(0).lower().endswith("en") and not m.group(0).lower().startswith(
        ("de ", "het ")
    )
    if pool is ACTORS:
        choices = [
            a for a in choices if (not a.startswith(("de ", "het ")) and a.endswith("en")) == plural
        ]
    if not choices:
        return None
    new = with_case(rng.choice(choices), m.group(0))
    return s[: m.start()] + new + s[m.end() :]


def number_swap(s: str, rng: random.Random) -> str | None:
    """Change one number, year or number word."""
    digits = list(re.finditer(r"(?<![\w.,])\d+(?:\.\d{3})*(?![\w])", s))
    if digits:
        m = rng.choice(digits)
        raw = m.group(0).replace(".", "")
        val = int(raw)
        if 1900 <= val <= 2100:
            new = val + rng.choice([-3, -2, -1, 1, 2, 4])
        elif val <= 1:
            new = val + rng.choice([2, 3])
        else:
            new = rng.choice([val * 2, val + max(1, val // 4), max(2, val // 2) + 1])
            if new == val:
                new = val + 1
        txt = f"{new:,}".replace(",", ".") if "." in m.group(0) else str(new)
        return s[: m.start()] + txt + s[m.end() :]
    words = [
        m for m in re.finditer(r"(?<![\w-])(" + "|".join(NUMBER_WORDS) + r")(?![\w-])", s, re.I)
    ]
    if not words:
        return None
    m = rng.choice(words)
    return s[: m.start()] + with_case(NUMBER_WORDS[m.group(0).lower()], m.group(0)) + s[m.end() :]


def negation(s: str, rng: random.Random) -> str | None:
    """Flip the polarity of a sentence: remove a ``niet``/``geen`` or insert ``niet``."""
    m = re.search(r"(?<![\w-])niet (?=\w)", s)
    if m and rng.random() < 0.8:
        return s[: m.start()] + s[m.end() :]
    m = re.search(r"(?<![\w-])geen(?![\w-])", s)
    if m:
        return s[: m.start()] + "een" + s[m.end() :]
    for m in re.finditer(r"(?<![\w-])(" + "|".join(FINITE) + r")(?![\w-])", s):
        if m.start() == 0:
            continue
        return s[: m.end()] + " niet" + s[m.end() :]
    return None


SINGULAR = {a for a in ACTORS if a.startswith(("de ", "het ")) or a[0].isupper()}
_DETERMINER = re.compile(r"(?:\b(?:de|het|alle|elke|iedere|hun|deze|soorten)\s+)$", re.IGNORECASE)


_LIST = re.compile(r"[\s,]*(?:[\w-]+\s*,\s*)*(?:en|of|als|en andere|en ook)?\s*")


def role_swap(s: str) -> str | None:
    """Exchange two singular actors of one sentence (not ones merely listed side by side)."""
    found = [m for m in actors_in(s) if not _DETERMINER.search(s[: m.start()])]
    for i, a in enumerate(found):
        for b in found[i + 1 :]:
            if a.group(0).lower() == b.group(0).lower():
                continue
            # Same grammatical number, so the verbs still agree after the swap.
            if (canonical(a.group(0)) in SINGULAR) != (canonical(b.group(0)) in SINGULAR):
                continue
            between = s[a.end() : b.start()]
            # "A en B", "zowel A als B", "A, B": a list; swapping its members changes nothing.
            if len(between.split()) < 2 or _LIST.fullmatch(between):
                continue
            x = with_case(canonical(b.group(0)), a.group(0))
            y = canonical(a.group(0))
            return s[: a.start()] + x + between + y + s[b.end() :]
    return None


def fill(template: str, contexts: list[str], rng: random.Random, own: list[str]) -> str:
    """Fill an addition or inference template."""
    other = [a for a in ACTORS if not mentioned(a, contexts) and a.startswith(("de ", "het "))]
    actor = (
        rng.choice(own)
        if own and "{actor}" in template.lower() and rng.random() < 0.6
        else rng.choice(other)
    )
    reg = rng.choice([r for r in REGISTERS if any(r in c for c in contexts)] or REGISTERS)
    return template.format(
        year=rng.choice([2012, 2014, 2017, 2019, 2021]),
        n=rng.choice([3, 5, 6, 8, 10]),
        money=rng.choice(["25", "42,50", "75"]),
        actor=actor,
        Actor=cap(actor),
        register=reg,
    )


def addition(s: str, contexts: list[str], rng: random.Random) -> str:
    """The sentence plus a plausible unsupported detail (new facts, none of them in the text)."""
    return s + fill(rng.choice(ADDITIONS), contexts, rng, [])


def inference(s: str, others: list[str], contexts: list[str], rng: random.Random) -> str | None:
    """The sentence plus a conclusion the passage does not state."""
    own = [
        m.group(0).lower() for m in actors_in(s) if m.group(0).lower().startswith(("de ", "het "))
    ]
    if others and rng.random() < 0.4:
        # Two true sentences linked by a causal claim the passage never makes.
        t = rng.choice(others)
        return (
            s + " Daarom geldt ook: " + t[:1].lower() + t[1:]
            if not t[:3].isupper()
            else s + " Daarom geldt ook: " + t
        )
    return s + fill(rng.choice(INFERENCES), contexts, rng, own)


def build() -> list[dict[str, object]]:
    """All items, in a seeded order."""
    rng = random.Random(SEED)
    passages = load_passages()
    by_register: dict[str, list[dict[str, str]]] = {}
    for p in passages:
        by_register.setdefault(p["register"], []).append(p)
    items: list[dict[str, object]] = []
    used: set[tuple[str, str]] = set()
    for kind, target in TARGETS.items():
        order = list(passages)
        rng.shuffle(order)
        made = 0
        rounds = 0
        while made < target and rounds < 4:
            rounds += 1
            for p in order:
                if made >= target:
                    break
                sents = sentences(p["text"])
                if not sents:
                    continue
                peers = [q for q in by_register[p["register"]] if q["id"] != p["id"]]
                distractor = rng.choice(peers) if peers else None
                contexts = [p["text"]] + ([distractor["text"]] if distractor else [])
                if rng.random() < 0.5:
                    contexts.reverse()
                cands = list(sents)
                rng.shuffle(cands)
                answer = None
                for s in cands:
                    if (kind, s) in used:
                        continue
                    others = [t for t in sents if t != s]
                    if kind == "extractive":
                        answer = s
                    elif kind == "extractive_multi":
                        answer = (s + " " + others[0]) if others else None
                    elif kind == "paraphrase":
                        answer = paraphrase(s, rng)
                    elif kind == "entity_swap":
                        answer = entity_swap(s, contexts, rng)
                    elif kind == "number_swap":
                        answer = number_swap(s, rng)
                    elif kind == "negation":
                        answer = negation(s, rng)
                    elif kind == "role_swap":
                        answer = role_swap(s)
                    elif kind == "addition":
                        answer = addition(s, contexts, rng)
                    elif kind == "inference":
                        answer = inference(s, others, contexts, rng)
                    if (answer is not None and answer != s) or kind in {"extractive"}:
                        used.add((kind, s))
                        break
                    answer = None
                if answer is None:
                    continue
                made += 1
                items.append(
                    {
                        "id": f"nl-{kind}-{made:03d}",
                        "question": p["title"],
                        "contexts": contexts,
                        "answer": answer,
                        "hallucinated": kind not in FAITHFUL,
                        "dataset": NAME,
                        "language": "nl",
                        "edit": kind,
                        "source": p["id"],
                    }
                )
    rng.shuffle(items)
    return items


def main() -> None:
    """Write (or check) the JSONL, its digest and the counts."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the committed file")
    args = ap.parse_args()
    items = build()
    text = "".join(json.dumps(i, ensure_ascii=False, sort_keys=True) + "\n" for i in items)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    path = OUT_DIR / f"{NAME}.jsonl"
    counts: dict[str, int] = {}
    for i in items:
        counts[str(i["edit"])] = counts.get(str(i["edit"]), 0) + 1
    if args.check:
        ok = path.is_file() and path.read_text("utf-8") == text
        print("unchanged" if ok else f"DIFFERS from {path}")
        raise SystemExit(0 if ok else 1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (OUT_DIR / f"{NAME}.jsonl.sha256").write_text(f"{digest}  {NAME}.jsonl\n", encoding="utf-8")
    pos = sum(1 for i in items if i["hallucinated"])
    print(f"{path.relative_to(REPO)}: {len(items)} items ({pos} unfaithful), sha256 {digest}")
    for k, v in counts.items():
        print(f"  {k:17s} {v}")


if __name__ == "__main__":
    main()
