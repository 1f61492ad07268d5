"""Train and score one (configuration, seed) unit: LoRA token classification on a decoder LLM.

The recipe follows the paper (§4, A.1) where a CPU allows it: a softmax token-classification head on
the last hidden state, LoRA on ``q_proj`` and ``v_proj`` (r 64, α 16, dropout 0.1) with the head
trained in full, AdamW (β 0.9/0.95, ε 1e-5, weight decay 0.1), cosine decay without warm-up, gradient
clipping at 1.0, gradient accumulation, the last model of each run is scored. The paper's QLoRA
(4-bit NF4, double quantisation) and paged 8-bit AdamW need bitsandbytes on a GPU: ``load_in_4bit``
uses them where they exist and otherwise warns and trains in full precision; the optimiser is plain
torch AdamW everywhere.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import nullcontext

import torch
from tqdm import tqdm

from pipeline.seqlabel.config import SeqlabelConfig
from pipeline.seqlabel.data import IGNORE, Example, Prepared, Sentence
from pipeline.seqlabel.unmask import apply_unmasking


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def four_bit_available(device: torch.device) -> bool:
    return device.type == "cuda" and importlib.util.find_spec("bitsandbytes") is not None


def build_model(model_path: str, tags: Sequence[str], code: str, config: SeqlabelConfig, device: torch.device
                ) -> tuple[torch.nn.Module, tuple[int, ...]]:
    """A token-classification model with ``code``'s groups unmasked and LoRA adapters on q and v."""
    from peft import (
        LoraConfig,
        TaskType,
        get_peft_model,
        prepare_model_for_kbit_training,
    )
    from transformers import AutoModelForTokenClassification

    kwargs = {}
    quantized = config.load_in_4bit and four_bit_available(device)
    if config.load_in_4bit and not quantized:
        print("adelie seqlabel: load_in_4bit needs bitsandbytes and a GPU; training in full precision",
              file=sys.stderr)
    if quantized:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
        kwargs["device_map"] = {"": device.index or 0}
    model = AutoModelForTokenClassification.from_pretrained(
        model_path, num_labels=len(tags), id2label=dict(enumerate(tags)),
        label2id={t: i for i, t in enumerate(tags)}, **kwargs,
    )
    unmasked = apply_unmasking(model, code, config.groups, config.attention)
    if quantized:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    lora = LoraConfig(task_type=TaskType.TOKEN_CLS, r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=["q_proj", "v_proj"])
    model = get_peft_model(model, lora)
    return (model if quantized else model.to(device)), unmasked


def collate(examples: Sequence[Example], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Right-padded ids, the padding mask and labels on first sub-tokens (``IGNORE`` elsewhere)."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, e in enumerate(examples):
        ids[row, : len(e.input_ids)] = torch.tensor(e.input_ids)
        mask[row, : len(e.input_ids)] = 1
        labels[row, list(e.first)] = torch.tensor(e.labels, dtype=torch.long)
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": labels.to(device)}


def batches(items: Sequence, size: int, order: Sequence[int] | None = None) -> Iterator[list]:
    order = range(len(items)) if order is None else order
    picked = [items[i] for i in order]
    for start in range(0, len(picked), size):
        yield picked[start : start + size]


def _autocast(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def train(model, examples: Sequence[Example], config: SeqlabelConfig, seed: int, pad_id: int,
          device: torch.device, desc: str = "train") -> list[float]:
    """Fine-tune in place; return the mean training loss of each epoch."""
    from transformers import get_cosine_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, betas=(0.9, 0.95), eps=1e-5, weight_decay=0.1)
    steps_per_epoch = math.ceil(math.ceil(len(examples) / config.batch_size) / config.grad_accum)
    scheduler = get_cosine_schedule_with_warmup(optimizer, 0, steps_per_epoch * config.epochs)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    losses = []
    micro_batches = math.ceil(len(examples) / config.batch_size)
    with tqdm(total=micro_batches * config.epochs, desc=desc, unit="batch", file=sys.stderr, leave=False) as bar:
        for _ in range(config.epochs):
            order = torch.randperm(len(examples), generator=generator).tolist()
            total, count = 0.0, 0
            for i, chunk in enumerate(batches(examples, config.batch_size, order)):
                with _autocast(device, config.bf16):
                    loss = model(**collate(chunk, pad_id, device), use_cache=False).loss
                (loss / config.grad_accum).backward()
                total, count = total + loss.item(), count + 1
                if (i + 1) % config.grad_accum == 0 or i + 1 == micro_batches:
                    torch.nn.utils.clip_grad_norm_(params, 1.0)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                bar.update()
                bar.set_postfix(loss=f"{total / count:.3f}")
            losses.append(total / count)
    return losses


@torch.no_grad()
def predict(model, sentences: Sequence[Sentence], examples: Sequence[Example], tags: Sequence[str],
            config: SeqlabelConfig, pad_id: int, device: torch.device, desc: str = "predict") -> list[list[str]]:
    """Tags per word from the first sub-token's argmax; words cut off by truncation are ``O``."""
    model.eval()
    predicted: list[list[str]] = []
    for chunk in tqdm(list(batches(examples, config.eval_batch_size)), desc=desc, unit="batch",
                      file=sys.stderr, leave=False):
        batch = collate(chunk, pad_id, device)
        with _autocast(device, config.bf16):
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False).logits
        best = logits.argmax(-1).cpu()
        for row, e in enumerate(chunk):
            predicted.append([tags[k] for k in best[row, list(e.first)].tolist()])
    return [p + ["O"] * (len(s.words) - len(p)) for s, p in zip(sentences, predicted)]


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """seqeval micro precision, recall and F1 with strict IOB2 span matching (the paper's metric)."""
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    args = {"mode": "strict", "scheme": IOB2, "average": "micro", "zero_division": 0}
    gold, predicted = [list(g) for g in gold], [list(p) for p in predicted]
    return {
        "f1": float(f1_score(gold, predicted, **args)),
        "precision": float(precision_score(gold, predicted, **args)),
        "recall": float(recall_score(gold, predicted, **args)),
    }


def run_unit(model_path: str, data: Prepared, code: str, seed: int, config: SeqlabelConfig
             ) -> tuple[dict, dict[str, list[list[str]]]]:
    """Train on ``train`` with configuration ``code`` and ``seed``; score the eval splits.

    Returns the metrics and the predicted tags of each eval split."""
    from transformers import set_seed

    device = pick_device(config.device)
    started = time.perf_counter()
    set_seed(seed)  # head initialisation, LoRA initialisation and dropout
    model, unmasked = build_model(model_path, data.tags, code, config, device)
    losses = train(model, data.encoded["train"], config, seed, data.pad_id, device, desc=f"{code} seed {seed}")
    trained = time.perf_counter()
    metrics: dict = {"config": code, "seed": seed, "unmasked_layers": list(unmasked),
                     "train_loss": losses}
    predictions = {}
    for split in config.eval_splits:
        predictions[split] = predict(model, data.splits[split], data.encoded[split], data.tags, config,
                                     data.pad_id, device, desc=f"{code} {split}")
        metrics[split] = score([s.tags for s in data.splits[split]], predictions[split])
    metrics["trainable_parameters"] = sum(p.numel() for p in model.parameters() if p.requires_grad)
    metrics["train_seconds"] = round(trained - started, 2)
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    metrics["device"] = str(device)
    return metrics, predictions
