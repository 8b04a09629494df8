"""Hub tasks: formatters on hand-written rows in each dataset's schema, offline errors."""

from __future__ import annotations

import random

import pytest
from click.testing import CliRunner

from w2s_bench.cli import cli
from w2s_bench.registry import default_registry
from w2s_bench.tasks.nlp.binary import Candidate, MultipleChoice
from w2s_bench.tasks.nlp.hub import HUB_TASKS, HUB_TASKS_BY_NAME, format_rows, hub_task_data

#: The tasks of Burns et al. (2023) plus Amazon polarity and Anthropic HH.
PAPER_TASKS = {
    "boolq", "cosmos_qa", "dream", "ethics_justice", "ethics_deontology", "ethics_virtue", "ethics_utilitarianism",
    "anli_r2", "cola", "sst2", "hellaswag", "mc_taco", "openbookqa", "paws", "quail", "piqa", "quartz_hub", "sciq",
    "social_iqa_hub", "multirc", "wic", "twitter_sentiment_hub", "amazon_polarity", "anthropic_hh",
}

#: One row per task in the dataset's own schema, and what its formatter must give:
#: ("binary", label, fragment of the text) or ("choice", correct answer, number of distractors).
ROWS = {
    "boolq": ({"question": "is the sky blue", "answer": True, "passage": "The sky is blue."}, ("binary", 1, "Question: is the sky blue?")),
    "cosmos_qa": ({"id": "x", "context": "I missed the bus.", "question": "Why was I late?", "answer0": "The bus left",
                   "answer1": "I ran", "answer2": "None of the above choices .", "answer3": "It rained", "label": 0},
                  ("choice", "The bus left", 3)),
    "dream": ({"id": 1, "dialogue_id": "d", "dialogue": ["M: Tea?", "W: Coffee, please."], "question": "What does she want?",
               "choice": ["Tea", "Coffee", "Water"], "answer": "Coffee"}, ("choice", "Coffee", 2)),
    "ethics_justice": ({"label": 1, "scenario": "I deserve pay because I worked."}, ("binary", 1, "I deserve pay")),
    "ethics_deontology": ({"label": 0, "scenario": "Can you feed the dog?", "excuse": "No, the dog is a cat."},
                          ("binary", 0, "Excuse: No, the dog is a cat.")),
    "ethics_virtue": ({"label": 1, "scenario": "She gave away her lunch. [SEP] generous"}, ("binary", 1, "Trait: generous")),
    "anli_r2": ({"uid": "u", "premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0, "reason": ""},
                ("binary", 1, "Hypothesis: An animal moves.")),
    "cola": ({"sentence": "The cat sat.", "label": 1, "idx": 0}, ("binary", 1, "The cat sat.")),
    "sst2": ({"idx": 0, "sentence": "a dull film", "label": 0}, ("binary", 0, "a dull film")),
    "hellaswag": ({"ind": 1, "activity_label": "Cooking", "ctx_a": "", "ctx_b": "", "ctx": "She cracks an egg",
                   "endings": ["into a bowl.", "into the sky.", "onto a cloud.", "at the moon."], "source_id": "s",
                   "split": "train", "split_type": "indomain", "label": "0"}, ("choice", "into a bowl.", 3)),
    "mc_taco": ({"sentence": "He ate lunch.", "question": "How long did it take?", "answer": "20 minutes", "label": 1,
                 "category": "Event Duration"}, ("binary", 1, "Answer: 20 minutes")),
    "openbookqa": ({"id": "7", "question_stem": "Plants need", "choices": {"text": ["sun", "rocks", "salt", "noise"],
                    "label": ["A", "B", "C", "D"]}, "answerKey": "A"}, ("choice", "sun", 3)),
    "paws": ({"id": 1, "sentence1": "A is B.", "sentence2": "B is A.", "label": 0}, ("binary", 0, "Sentence 2: B is A.")),
    "quail": ({"id": "q", "context_id": "c1", "question_id": "q1", "domain": "news", "metadata": {}, "context": "Text.",
               "question": "Who?", "question_type": "Character_identity", "answers": ["Ann", "Bob", "Cy", "not enough information"],
               "correct_answer_id": 1}, ("choice", "Bob", 3)),
    "piqa": ({"goal": "Open a jar", "sol1": "Twist the lid", "sol2": "Eat the lid", "label": 0}, ("choice", "Twist the lid", 1)),
    "quartz_hub": ({"id": "q", "question": "More resistors make resistance", "choices": {"text": ["higher", "lower"],
                    "label": ["A", "B"]}, "answerKey": "A", "para": "Resistors add up.", "para_id": "p",
                    "para_anno": {}, "question_anno": {}}, ("choice", "higher", 1)),
    "sciq": ({"question": "What do plants absorb?", "distractor1": "salt", "distractor2": "rock", "distractor3": "iron",
              "correct_answer": "light", "support": ""}, ("choice", "light", 3)),
    "social_iqa_hub": ({"context": "Alex helped.", "question": "How does Alex feel?", "answerA": "proud", "answerB": "sad",
                        "answerC": "angry", "label": "1"}, ("choice", "proud", 2)),
    "multirc": ({"paragraph": "Sam went home.", "question": "Where did Sam go?", "answer": "home",
                 "idx": {"paragraph": 0, "question": 0, "answer": 0}, "label": 1}, ("binary", 1, "Answer: home")),
    "wic": ({"word": "bank", "sentence1": "river bank", "sentence2": "bank account", "start1": 6, "start2": 0,
             "end1": 10, "end2": 4, "idx": 0, "label": 0}, ("binary", 0, "Word: bank")),
    "twitter_sentiment_hub": ({"text": "love this", "label": 2}, ("binary", 1, "love this")),
    "amazon_polarity": ({"label": 1, "title": "Great", "content": "Works well."}, ("binary", 1, "Review: Works well.")),
    "anthropic_hh": ({"chosen": "\n\nHuman: hi\n\nAssistant: hello", "rejected": "\n\nHuman: hi\n\nAssistant: go away"},
                     ("choice", "Human: hi\n\nAssistant: hello", 1)),
}


def test_every_paper_task_registered_as_hub():
    registered = default_registry().entries("task")
    assert PAPER_TASKS == set(HUB_TASKS_BY_NAME)
    for name in PAPER_TASKS:
        assert registered[name].spec.description.startswith("hub · ")


def test_every_hub_task_has_a_row():
    assert set(ROWS) | {"ethics_utilitarianism"} == set(HUB_TASKS_BY_NAME)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_formatter_on_schema_row(name):
    row, (kind, expected, detail) = ROWS[name]
    formatted = HUB_TASKS_BY_NAME[name].format_row(row)

    if kind == "binary":
        assert isinstance(formatted, Candidate)
        assert formatted.label == expected
        assert detail in formatted.text
    else:
        assert isinstance(formatted, MultipleChoice)
        assert formatted.correct == expected
        assert len(formatted.distractors) == detail
        assert expected not in formatted.distractors


def test_utilitarianism_label_follows_order():
    formatter = HUB_TASKS_BY_NAME["ethics_utilitarianism"].format_row
    labels = set()
    for i in range(20):
        row = {"baseline": f"I won {i} dollars.", "less_pleasant": f"I lost {i} dollars."}
        candidate = formatter(row)
        first = candidate.text.split("\n")[0]
        assert ("won" in first) == bool(candidate.label)
        labels.add(candidate.label)
    assert labels == {0, 1}


def test_neutral_rows_dropped():
    assert HUB_TASKS_BY_NAME["anli_r2"].format_row({"premise": "p", "hypothesis": "h", "label": 1}) is None
    assert HUB_TASKS_BY_NAME["twitter_sentiment_hub"].format_row({"text": "ok", "label": 1}) is None


def test_hub_task_data_removes_test_questions_from_train():
    task = HUB_TASKS_BY_NAME["sciq"]
    rows = [{"question": f"question {i}?", "distractor1": "a", "distractor2": "b", "distractor3": "c",
             "correct_answer": "d", "support": ""} for i in range(200)]
    data = hub_task_data(task, rows[:150], rows[100:])

    def question(example) -> str:
        return example.texts[0].split("\nAnswer:")[0]

    assert not {question(e) for e in data.train} & {question(e) for e in data.test}
    assert sum(e.label for e in data.test) * 2 == len(data.test)
    assert sum(e.label for e in data.train) * 2 == len(data.train)


def test_format_rows_one_text_per_question():
    task = HUB_TASKS_BY_NAME["piqa"]
    rows = [{"goal": f"goal {i}", "sol1": "yes", "sol2": "no", "label": i % 2} for i in range(10)]
    candidates = format_rows(task, rows, random.Random(0))
    assert len(candidates) == 10
    assert {c.label for c in candidates} == {0, 1}


@pytest.mark.parametrize("environment", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "https://hub.invalid"}])
def test_offline_one_line_error(tmp_path, monkeypatch, environment):
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["run", "--task", "boolq", "--weak", "minilm-l1", "--strong", "minilm-l1",
                                      "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: task 'boolq' needs the Hugging Face hub (dataset google/boolq)")
    assert lines[0].endswith("the closest offline task is 'strategyqa'")


def test_closest_offline_tasks_exist():
    registered = default_registry().entries("task")
    for task in HUB_TASKS:
        assert registered[task.closest_offline].spec.description.startswith("offline · "), task.name
