"""Training chat templates: the ``{% generation %}`` markers that assistant-only loss needs.

TRL computes the assistant mask from ``{% generation %}`` … ``{% endgeneration %}`` blocks in the chat
template. Few models ship them, and TRL patches only the templates it knows (Qwen, Llama 3, Gemma, …),
not SmolLM2's. adelie therefore keeps marked copies of other templates in ``prompts/chat_templates/``
and uses one only after checking that it renders exactly like the model's own template on probe chats,
so training sees the very text inference will. The saved model gets its own template back (markers
are a training device; some inference engines do not know the tag).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "prompts" / "chat_templates"
NO_TEMPLATE_FALLBACK = "tulu.jinja"  # base models without a chat template: the format ADELIE trained in

_MARKER = re.compile(r"\{%-?\s*(?:end)?generation\s*-?%\}")

# Chats that exercise every branch of the usual templates: default system prompt or not, several turns.
PROBES: tuple[tuple[dict[str, str], ...], ...] = (
    ({"role": "user", "content": "Extract the entities: Alice met Bob."},
     {"role": "assistant", "content": "Alice; person; Bob; person; "}),
    ({"role": "system", "content": "You extract information."},
     {"role": "user", "content": "List the verbs.\nIt rained."},
     {"role": "assistant", "content": "rained"},
     {"role": "user", "content": "And the nouns?"},
     {"role": "assistant", "content": "None."}),
)


@dataclass(frozen=True)
class TemplateChoice:
    template: str
    """The template to train with; it has generation markers."""
    source: str
    """Where it came from, for logs and manifests."""
    original: str | None
    """The tokenizer's own template (saved with the trained model), None if it had none."""

    def for_saving(self) -> str:
        """The template the trained model is saved with: its own, or the training one without markers."""
        return self.original if self.original is not None else strip_generation_markers(self.template)


def has_generation_markers(template: str | None) -> bool:
    return bool(template) and bool(_MARKER.search(template))


def strip_generation_markers(template: str) -> str:
    return _MARKER.sub("", template)


def renders_like(tokenizer, candidate: str, reference: str) -> bool:
    """True when both templates give the same text for every probe, with and without a generation prompt."""
    for probe in PROBES:
        for prompt in (False, True):
            try:
                texts = [
                    tokenizer.apply_chat_template(list(probe), chat_template=t, tokenize=False, add_generation_prompt=prompt)
                    for t in (candidate, reference)
                ]
            except Exception:  # a template that cannot render a probe does not match
                return False
            if texts[0] != texts[1]:
                return False
    return True


def shipped_templates() -> list[Path]:
    return sorted(TEMPLATES_DIR.glob("*.jinja"))


def template_file(name: str) -> Path:
    """A template file path, or the name of one in prompts/chat_templates/ (``tulu``, ``smollm2``)."""
    path = Path(name)
    if path.is_file():
        return path
    if (TEMPLATES_DIR / f"{name}.jinja").is_file():
        return TEMPLATES_DIR / f"{name}.jinja"
    known = ", ".join(p.stem for p in shipped_templates())
    raise FileNotFoundError(f"chat_template {name}: no such file, and not a shipped template ({known})")


def choose_training_template(tokenizer, override: str | None = None) -> TemplateChoice:
    """The chat template to train ``tokenizer``'s model with (see the module docstring for the order)."""
    own = tokenizer.chat_template if isinstance(tokenizer.chat_template, str) else None
    if override:
        path = template_file(override)
        template = path.read_text()
        if not has_generation_markers(template):
            raise ValueError(f"chat_template {override} has no {{% generation %}} markers: assistant-only loss needs them")
        return TemplateChoice(template, str(path), own)
    if own is None:
        path = TEMPLATES_DIR / NO_TEMPLATE_FALLBACK
        print(f"the model has no chat template: training in the TULU 2 format ({path})", file=sys.stderr)
        return TemplateChoice(path.read_text(), str(path), None)
    if has_generation_markers(own):
        return TemplateChoice(own, "the model's own template", own)
    for path in shipped_templates():
        candidate = path.read_text()
        if renders_like(tokenizer, candidate, own):
            return TemplateChoice(candidate, str(path), own)
    from trl.chat_template_utils import get_training_chat_template

    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError:
        patched = None
    if patched:
        return TemplateChoice(patched, "TRL's training version of the model's template", own)
    raise ValueError(
        "the model's chat template has no {% generation %} markers, and neither a template in "
        f"{TEMPLATES_DIR} nor TRL renders like it: copy it, wrap each assistant reply and its end-of-turn "
        "token in {% generation %}…{% endgeneration %}, and set chat_template=<that file>"
    )
