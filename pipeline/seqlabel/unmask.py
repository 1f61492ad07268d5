"""Layer-group causal-mask removal: let chosen decoder blocks "look right".

The decoder blocks are split into ``m`` consecutive groups; a configuration such as ``"0011"`` removes
the causal mask in the groups marked ``1``, read from the input side (the first character is the
group nearest the embeddings). An unmasked block attends to every real token of the sentence; padding
stays masked everywhere.

Why this mechanism (transformers 5.x, no private helpers):

* A decoder model builds ONE mask per layer type (``create_causal_mask`` in ``masking_utils``) and
  hands it to every block, so the per-layer choice has to be made where attention is computed.
  Passing a custom 4-D ``attention_mask`` or a dict keyed by layer type cannot do it: Llama-family
  models share a single mask across all blocks, and layer types are a property of the architecture.
* Every attention module carries ``is_causal``, the flag transformers' own attention functions read to
  decide whether a layer is causal (encoders set it to ``False``). We set it to ``False`` on the
  blocks of unmasked groups, so the model itself says which blocks are bidirectional.
* An attention implementation registered with the public ``AttentionInterface.register`` (and its
  mask builder with ``AttentionMaskInterface.register``) wraps the base implementation (``sdpa`` by
  default). For a causal block it changes nothing. For a bidirectional block it swaps the causal mask
  for a padding-only mask built by the public ``masking_utils.create_bidirectional_mask``.
* That padding-only mask is built once per forward pass by a forward pre-hook on the backbone, from
  the same 2-D padding mask, and travels to the attention function as a keyword argument: transformers
  routes extra forward kwargs through every decoder layer down to the attention interface.

Nothing of this touches the weights, so LoRA, 4-bit loading and ``set_attn_implementation`` work as
usual, and ``"0000"`` is exactly the stock causal model. Sequence labelling never generates, so no
KV cache is expected (a cache is refused rather than silently mis-masked).
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable

MASK_KWARG = "padding_only_attention_mask"
"""The forward kwarg carrying the padding-only mask from the backbone hook to the attention function."""


def parse_code(code: str | int, groups: int) -> tuple[bool, ...]:
    """``"0011"`` → ``(False, False, True, True)``: which groups are unmasked, input side first."""
    text = str(code)
    if len(text) != groups or set(text) - {"0", "1"}:
        raise ValueError(
            f"unmasking configuration {code!r} must be {groups} characters of 0/1 (one per layer group); "
            "in YAML write it quoted ('0011'), since an unquoted 0011 is read as the number 9"
        )
    return tuple(ch == "1" for ch in text)


def all_codes(groups: int) -> list[str]:
    """Every configuration of ``groups`` groups, in Gray-code order from all-masked (as the paper's Figure 2)."""
    return [format(i ^ (i >> 1), f"0{groups}b") for i in range(2**groups)]


def layer_groups(layers: int, groups: int) -> list[range]:
    """Split ``layers`` blocks into ``groups`` consecutive groups whose sizes differ by at most one
    (the first groups take the extra blocks: 30 layers in 4 groups → 8, 8, 7, 7)."""
    if not 1 <= groups <= layers:
        raise ValueError(f"cannot split {layers} decoder blocks into {groups} groups")
    size, extra = divmod(layers, groups)
    bounds = [0]
    for g in range(groups):
        bounds.append(bounds[-1] + size + (g < extra))
    return [range(a, b) for a, b in itertools.pairwise(bounds)]


def register_attention(base: str = "sdpa") -> str:
    """Register the unmasking wrapper around ``base`` once; return its implementation name."""
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    name = f"adelie_unmask_{base}"
    if name in ALL_ATTENTION_FUNCTIONS:
        return name
    if base not in ALL_ATTENTION_FUNCTIONS or base not in ALL_MASK_ATTENTION_FUNCTIONS:
        usable = sorted(set(ALL_ATTENTION_FUNCTIONS.valid_keys()) & set(ALL_MASK_ATTENTION_FUNCTIONS.valid_keys()))
        raise ValueError(f"attention {base!r} cannot be wrapped; use one of {', '.join(usable)}")
    AttentionInterface.register(name, _wrap(ALL_ATTENTION_FUNCTIONS[base]))
    AttentionMaskInterface.register(name, ALL_MASK_ATTENTION_FUNCTIONS[base])
    return name


def _wrap(base_attention: Callable) -> Callable:
    missing = object()

    def attention(module, query, key, value, attention_mask, **kwargs):
        padding_only = kwargs.pop(MASK_KWARG, missing)
        if not getattr(module, "is_causal", True):
            if padding_only is missing:
                raise RuntimeError("an unmasked block ran without its padding mask: use apply_unmasking()")
            attention_mask = padding_only  # None when nothing is padded: plain bidirectional attention
        return base_attention(module, query, key, value, attention_mask, **kwargs)

    return attention


def decoder_layers(model):
    backbone = model.base_model
    layers = getattr(backbone, "layers", None)
    if layers is None or not all(hasattr(layer, "self_attn") for layer in layers):
        raise TypeError(f"{type(backbone).__name__} has no `layers` of decoder blocks with `self_attn`")
    return layers


def apply_unmasking(model, code: str, groups: int = 4, base: str = "sdpa") -> tuple[int, ...]:
    """Remove the causal mask in the groups ``code`` marks, on a loaded (not yet PEFT-wrapped) model.
    Returns the indices of the unmasked decoder blocks."""
    flags = parse_code(code, groups)
    layers = decoder_layers(model)
    spans = layer_groups(len(layers), groups)
    unmasked = tuple(i for span, flag in zip(spans, flags) if flag for i in span)
    for i, layer in enumerate(layers):
        layer.self_attn.is_causal = i not in unmasked
    model.set_attn_implementation(register_attention(base))
    model.config.use_cache = False
    backbone = model.base_model
    signature = inspect.signature(backbone.forward)
    backbone.register_forward_pre_hook(_padding_only_hook(signature), with_kwargs=True)
    return unmasked


def _padding_only_hook(signature: inspect.Signature) -> Callable:
    import torch
    from transformers.masking_utils import create_bidirectional_mask

    def hook(backbone, args, kwargs):
        given = signature.bind_partial(*args, **kwargs).arguments
        if given.get("past_key_values") is not None:
            raise ValueError("layer-group unmasking does not support a KV cache")
        embeds = given.get("inputs_embeds")
        if embeds is None:  # only its shape, dtype and device are read (create_bidirectional_mask's docs)
            ids = given["input_ids"]
            embeds = torch.empty((*ids.shape, 0), dtype=backbone.dtype, device=ids.device)
        kwargs[MASK_KWARG] = create_bidirectional_mask(backbone.config, embeds, given.get("attention_mask"))
        return args, kwargs

    return hook
