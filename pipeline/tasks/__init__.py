"""Task plugins by task: ``plugin(Task.NER).render(fmt, record)`` and so on."""

from __future__ import annotations

from pipeline.records import Task
from pipeline.tasks.base import TaskPlugin, answer_part
from pipeline.tasks.events import EaeTask, EdTask, EeTask
from pipeline.tasks.mre import MreTask
from pipeline.tasks.ner import NerTask
from pipeline.tasks.ondemand import OnDemandTask
from pipeline.tasks.openie import OpenIeTask
from pipeline.tasks.relation import EreTask, RcTask, ReTask

PLUGINS: dict[Task, TaskPlugin] = {
    p.task: p
    for p in (
        NerTask(), RcTask(), ReTask(), EdTask(), EaeTask(), EeTask(), EreTask(),
        OpenIeTask(), OnDemandTask(), MreTask(),
    )
}


def plugin(task: Task | str) -> TaskPlugin:
    return PLUGINS[Task(task)]


__all__ = ["PLUGINS", "plugin", "TaskPlugin", "answer_part"]
