"""Build a tiny random-weight NLI cross-encoder on disk (tests the code path, not judgement)."""

from __future__ import annotations

from pathlib import Path

WORDS = [
    "de",
    "het",
    "een",
    "is",
    "in",
    "op",
    "van",
    "en",
    "te",
    "the",
    "a",
    "an",
    "is",
    "of",
    "and",
    "to",
    "in",
    "on",
    "was",
    "were",
    "be",
    "by",
    "for",
    "with",
    "at",
    "kadaster",
    "bag",
    "woz",
    "brk",
    "bgt",
    "register",
    "gemeente",
    "waarde",
    "huis",
    "adres",
    "perceel",
    "open",
    "closed",
    "monday",
    "friday",
    "sunday",
    "paris",
    "france",
    "capital",
    "city",
    "london",
    "born",
    "1879",
    "germany",
    "einstein",
    "magazine",
]

LABELS = {0: "contradiction", 1: "entailment", 2: "neutral"}


def build_tiny_cross_encoder(path: Path, *, seed: int = 0, hidden: int = 32) -> Path:
    """Write a 1-layer BERT sequence classifier with 3 NLI labels and its tokenizer to ``path``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=hidden * 2,
        max_position_embeddings=256,
        num_labels=3,
        id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
    )
    model = BertForSequenceClassification(cfg)
    model.eval()
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path
