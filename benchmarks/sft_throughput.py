"""Benchmark: training tokens/s of `adelie sft`'s trainer against a plain TRL script, and padded
against packed (padding-free) batches.

Variants, all on the same conversations, model, precision, batch, max_length and seed:
  plain-trl/padded  baseline: a hand-written SFTTrainer (TRL's own `chat_template_path`, assistant-only
                    loss), as a TRL user would write it;
  adelie/padded     `pipeline.train.sft.build_trainer` with batching=padded (what `adelie sft` runs);
  adelie/packed     the same with batching=packed (BFD packing, padding-free forward).
Throughput counts real (non-padding) tokens, from TRL's own `num_tokens` metric, over the steady-state
steps (the first --warmup steps are skipped), per second of wall-clock time and per second of this
process's CPU time. On a machine shared with other jobs the CPU-time figure is the stable one, with
--threads 1 (more threads spin-wait for each other when the cores are oversubscribed, burning CPU time).
Each variant runs --repeats times in alternating order; medians are reported.

    .venv/bin/python benchmarks/sft_throughput.py [--steps 8] [--warmup 2] [--max-length 512] [--batch-size 4]
    # GPU machine without the weights: a random-initialised model of the same shape
    python benchmarks/sft_throughput.py --device cuda --random-init --model MODEL_DIR --data DATA_DIR

--model takes the embedded alias or a folder (for --random-init, config.json and the tokenizer files are
enough); --data a saved dataset with a messages column (default: conversations drawn from the registry's
general sources; --save-data DIR only writes those out, for carrying to another machine).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def conversations(args):
    from datasets import Dataset

    from pipeline.train.data import load_columns

    if args.data:
        return load_columns(args.data, "adelie mix", ["messages"])
    from pipeline.stages.mix import LOCAL_GENERAL, general_rows

    pool = [row for source in LOCAL_GENERAL for row in general_rows(source, None)[0]]
    rows = random.Random(0).sample(pool, args.conversations)
    return Dataset.from_list([{"messages": r["messages"]} for r in rows])


def step_clock():
    """A callback noting the wall-clock and process CPU time of each optimizer-step end."""
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        def __init__(self):
            self.ends: list[tuple[float, float]] = []

        def on_train_begin(self, *args, **kwargs):
            self.ends = [(time.perf_counter(), time.process_time())]

        def on_step_end(self, *args, **kwargs):
            self.ends.append((time.perf_counter(), time.process_time()))

    return StepClock()


def adelie_trainer(args, data, out):
    from pipeline.train.sft import SftConfig, build_trainer

    cfg = SftConfig(model=args.model, max_length=args.max_length, batch_size=args.batch_size,
                    global_batch=args.batch_size, max_steps=args.steps, precision=args.precision,
                    batching=args.batching, attn_implementation=args.attn, save_steps=10**6, logging_steps=1, seed=0)
    trainer, _ = build_trainer(cfg, data, out, progress=False, random_init=args.random_init)
    return trainer


def plain_trl_trainer(args, data, out):
    """What a TRL user writes by hand for the same run (adelie code only picks the same precision flags)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from pipeline.models import resolve_model
    from pipeline.train.chat_template import TEMPLATES_DIR
    from pipeline.train.config import checkpointing_argument
    from pipeline.train.device import precision_arguments

    path = resolve_model(args.model)
    if args.random_init:
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(path), dtype=torch.float32,
                                                 attn_implementation=args.attn)
    else:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation=args.attn)
    config = SFTConfig(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, gradient_accumulation_steps=1,
        max_steps=args.steps, learning_rate=2e-5, lr_scheduler_type="cosine", warmup_steps=0.03, weight_decay=0.0,
        seed=0, data_seed=0, **checkpointing_argument(True), logging_steps=1, save_strategy="steps", save_steps=10**6,
        report_to="none", dataloader_num_workers=0, disable_tqdm=True, max_length=args.max_length,
        assistant_only_loss=True, chat_template_path=str(TEMPLATES_DIR / "smollm2.jinja"),
        **precision_arguments(args.precision),  # the same device/precision decision, so the settings match
    )
    return SFTTrainer(model=model, args=config, train_dataset=data, processing_class=AutoTokenizer.from_pretrained(path))


VARIANTS = {
    "plain-trl/padded": (plain_trl_trainer, "padded"),
    "adelie/padded": (adelie_trainer, "padded"),
    "adelie/packed": (adelie_trainer, "packed"),
}


def measure(name: str, args, data) -> dict:
    import torch

    build, batching = VARIANTS[name]
    out = Path(tempfile.mkdtemp(prefix="sft-bench-"))
    try:
        trainer = build(argparse.Namespace(**{**vars(args), "batching": batching}), data, out)
        clock = step_clock()
        trainer.add_callback(clock)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
        tokens = [e["num_tokens"] for e in trainer.state.log_history if "num_tokens" in e]
        timed_tokens = tokens[-1] - tokens[args.warmup - 1] if args.warmup else tokens[-1]
        steps = len(clock.ends) - 1 - args.warmup
        wall = clock.ends[-1][0] - clock.ends[args.warmup][0]
        cpu = clock.ends[-1][1] - clock.ends[args.warmup][1]
        result = {"variant": name, "tokens_per_s": timed_tokens / wall, "tokens_per_cpu_s": timed_tokens / cpu,
                  "s_per_step": wall / steps, "tokens_per_step": timed_tokens / steps}
        if torch.cuda.is_available():
            result["peak_gpu_gib"] = torch.cuda.max_memory_allocated() / 2**30
        del trainer
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--random-init", action="store_true", help="same architecture, random weights")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--data", help="saved dataset with a messages column (default: registry general data)")
    parser.add_argument("--save-data", help="only write the drawn conversations here (to carry them elsewhere)")
    parser.add_argument("--attn", default="sdpa", help="attention kernel (flash_attention_2 where installed)")
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's); 1 avoids spin-waiting "
                        "slowdowns when other jobs share the cores")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if args.threads:  # before torch starts its thread pools
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no GPU visible")
    if args.threads:
        torch.set_num_threads(args.threads)
    from pipeline.train.device import resolve_precision

    data = conversations(args)
    if args.save_data:
        data.save_to_disk(args.save_data)
        return
    runs = []
    for repeat in range(args.repeats):
        order = args.variants if repeat % 2 == 0 else list(reversed(args.variants))
        for name in order:
            runs.append(measure(name, args, data))
            print(json.dumps(runs[-1]), file=sys.stderr)
    medians = {name: {measure: statistics.median(r[measure] for r in runs if r["variant"] == name)
                      for measure in ("tokens_per_s", "tokens_per_cpu_s", "s_per_step", "tokens_per_step")}
               for name in args.variants}
    device = torch.cuda.get_device_name() if args.device == "cuda" else \
        f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
    print(f"device: {device}; precision {resolve_precision(args.precision)}; model {args.model}"
          f"{' (random init)' if args.random_init else ''}; batch {args.batch_size} × max_length {args.max_length}; "
          f"{args.steps} steps ({args.warmup} warm-up), {args.repeats} repeats, {len(data)} conversations")
    print("| variant | tokens/s (wall) | tokens per CPU-second | s/step | real tokens/step |")
    print("|---|---|---|---|---|")
    for name, m in medians.items():
        print(f"| {name} | {m['tokens_per_s']:.1f} | {m['tokens_per_cpu_s']:.1f} | {m['s_per_step']:.2f} | "
              f"{m['tokens_per_step']:.0f} |")
    for label, a, b in (("adelie / plain TRL (padded)", "adelie/padded", "plain-trl/padded"),
                        ("packed / padded (adelie)", "adelie/packed", "adelie/padded")):
        if a in medians and b in medians:
            print(f"{label}: {medians[a]['tokens_per_s'] / medians[b]['tokens_per_s']:.2f}x wall, "
                  f"{medians[a]['tokens_per_cpu_s'] / medians[b]['tokens_per_cpu_s']:.2f}x per CPU-second")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "runs": runs, "medians": medians}, indent=1))


if __name__ == "__main__":
    main()
