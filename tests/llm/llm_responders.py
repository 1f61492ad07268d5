"""Deterministic stand-ins for a model, one per stage, for the fake server: answers are functions of
the prompt, and each is built to exercise the stage's accept/reject paths."""

from __future__ import annotations

import hashlib
import json
import random
import re

from fake_server import prompt_key

FIXTURE = "tests/llm/fixtures/mre_ja.jsonl"
LABELS = {"ニュース": "news", "経済": "economy", "ポジティブ": "positive", "ネガティブ": "negative",
          "天気": "weather", "地名": "location", "人名": "person", "組織名": "organization"}

# source text -> the "model's" answer, and what the filters must make of it
TRANSLATIONS = {
    "東京で大きな地震が発生した。": ('{"text": "A large earthquake struck Tokyo.", "entities": ["Tokyo"]}', None),
    "田中さんはソニーに入社した。": ('```json\n{"text": "Tanaka joined Sony.", "entities": ["Tanaka", "Sony"]}\n```',
                              None),
    "この映画は本当に素晴らしかった。": ('{"text": "This movie was truly wonderful.", "entities": []}', None),
    "大阪の天気は晴れです。": ('{"text": "The weather in Osaka is 晴れ.", "entities": ["Osaka"]}', "residual_script"),
    "京都市長が会見した。": ('{"text": "The mayor of Kyoto spoke.", "entities": ["Kyoto City"]}',
                         "entity_not_in_text"),
    "サービスが遅かった。": ("I am sorry, I cannot translate this.", "format"),
    "山田と鈴木が話した。": ('{"text": "Yamada and Suzuki talked.", "entities": ["Yamada"]}', "format"),
    "トヨタが新車を出した。": ('{"text": "Toyota released a new car.", "entities": ["トヨタ"]}', "residual_script"),
}


def translator(messages, body) -> str:
    """Answers a translate prompt from :data:`TRANSLATIONS`, keyed by the sample's source text."""
    sample = json.loads(messages[-1]["content"].rsplit("\nInput:\n", 1)[1].split("\nAnswer:", 1)[0])
    return TRANSLATIONS[sample["text"]][0]


WORDS = ("gather uncover relations statements sentence passage identify each fact link actors actions "
         "reveal connections hidden inside provided material spot arguments predicates tuples write down all "
         "notice who did what where when list subjects objects pinpoint claims assertions trace structure "
         "explore report capture relationships between participants mention describe pull knowledge out").split()


def describer(messages, body) -> str:
    """Answers an expand prompt: mostly a fresh description, sometimes one without the placeholder,
    sometimes a copy of an example (a near-duplicate), chosen by a hash of the prompt."""
    prompt = messages[-1]["content"]
    number = re.search(r"Now write description (\d+)", prompt)[1]
    h = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    if h % 5 == 0:
        return f"Description {number}: " + re.search(r"^Description 1: (.*)$", prompt, re.M)[1]
    rng = random.Random(h)
    words = " ".join(rng.choice(WORDS) for _ in range(14))
    if h % 5 == 1:
        return f"Description {number}: {words.capitalize()}."
    return f"Description {number}: {words.capitalize()} in {{text}}.\n\nDescription {int(number) + 1}: extra"


def explainer(messages, body) -> str:
    """Answers an explain prompt with text naming the prompt (and an echo of the answer mark to cut)."""
    return f"answer to {prompt_key(messages)}: step one, step two.\n[Answer]: whatever"
