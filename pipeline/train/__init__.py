"""Training with TRL, shared by ``adelie sft`` and ``adelie dpo``; adelie adds only what TRL lacks.

- :mod:`~pipeline.train.config`: :class:`TrainConfig`, the knobs every training stage has (model,
  precision, global batch, schedule, checkpoints), and ``trainer_arguments`` for any TRL config.
- :mod:`~pipeline.train.device`: CPU or accelerator, and bf16/fp16/fp32 (``auto`` knows which CPUs
  compute bf16 natively).
- :mod:`~pipeline.train.loading`: model and tokenizer loading (no remote code by default), and a cheap
  model fingerprint for stage keys.
- :mod:`~pipeline.train.chat_template`: training templates with ``{% generation %}`` markers for
  assistant-only loss, checked to render like the model's own.
- :mod:`~pipeline.train.data`: locating, hashing and loading the datasets stages pass on.
- :mod:`~pipeline.train.callbacks`: real tokens/s in the training log, and ``train_log.jsonl``.
- :mod:`~pipeline.train.run`: the run folder (resume from the last complete checkpoint, atomic final
  model, manifest, done-marker).
- :mod:`~pipeline.train.launch`: ``--resume`` and ``--accelerate PRESET --num-processes N``.
- :mod:`~pipeline.train.sft`: the SFT config and trainer.
"""
