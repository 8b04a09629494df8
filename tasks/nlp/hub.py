"""The NLP tasks of Burns et al. (2023) that exist only on the Hugging Face hub.

Each task names a hub dataset, the splits used for training and testing and a
formatter that turns one dataset row into a binary :class:`Candidate` or a
:class:`MultipleChoice` question. Loading goes through
``datasets.load_dataset``; without the hub a load fails with one line that
names the dataset and the closest offline task.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlparse

from w2s_bench.data import Example, TaskData, example_id
from w2s_bench.errors import DataError
from w2s_bench.tasks.nlp.binary import (
    Candidate, MultipleChoice, balance, binary_from_choices, deduplicate, normalise_space,
)

logger = logging.getLogger(__name__)

#: Revision of the hub's automatic Parquet export. ``datasets`` 4 and later
#: no longer run loading scripts, and this branch serves script-based
#: datasets as plain Parquet.
PARQUET_REVISION = "refs/convert/parquet"

#: Rows read per split before formatting. Amazon polarity has 3.6M training
#: rows; a seeded subset keeps formatting and feature extraction bounded.
MAX_ROWS_PER_SPLIT = 50_000

QUESTION_TEMPLATE = "Question: {prompt}\nAnswer: {answer}"

Row = dict[str, Any]


@dataclass(frozen=True)
class HubTask:
    """A hub dataset, its splits and the formatter that makes it binary.

    ``format_row(row)`` returns a :class:`Candidate` (a row that already has a
    binary label), a :class:`MultipleChoice` (one text per question is made by
    :func:`binary_from_choices`) or None to skip the row.
    """

    name: str
    path: str
    config: str | None
    train_split: str
    test_split: str
    format_row: Callable[[Row], Candidate | MultipleChoice | None]
    description: str
    licence: str
    closest_offline: str
    revision: str | None = None


# --- formatters ------------------------------------------------------------


def text_candidate(group: str, text: str, label: int) -> Candidate:
    return Candidate(normalise_space(group), text.strip(), int(label))


def question(group: str, prompt: str, options: list[str], correct: int) -> MultipleChoice | None:
    options = [normalise_space(str(option)) for option in options]
    if not 0 <= correct < len(options):
        return None
    distractors = tuple(option for i, option in enumerate(options) if i != correct and option and option != options[correct])
    return MultipleChoice(normalise_space(group), prompt.strip(), options[correct], distractors)


def format_boolq(row: Row) -> Candidate:
    text = f"Passage: {row['passage']}\nQuestion: {row['question']}?"
    return text_candidate(row["question"], text, bool(row["answer"]))


def format_cosmos_qa(row: Row) -> MultipleChoice | None:
    prompt = f"Context: {row['context']}\nQuestion: {row['question']}"
    options = [row[f"answer{i}"] for i in range(4)]
    return question(row["context"] + row["question"], prompt, options, int(row["label"]))


def format_dream(row: Row) -> MultipleChoice | None:
    dialogue = "\n".join(row["dialogue"])
    prompt = f"Dialogue:\n{dialogue}\nQuestion: {row['question']}"
    options = list(row["choice"])
    if row["answer"] not in options:
        return None
    return question(dialogue + row["question"], prompt, options, options.index(row["answer"]))


def format_ethics_justice(row: Row) -> Candidate:
    return text_candidate(row["scenario"], row["scenario"], row["label"])


def format_ethics_deontology(row: Row) -> Candidate:
    text = f"Scenario: {row['scenario']}\nExcuse: {row['excuse']}"
    return text_candidate(row["scenario"], text, row["label"])


def format_ethics_virtue(row: Row) -> Candidate:
    # The source stores "sentence [SEP] trait" in one field.
    sentence, _, trait = row["scenario"].partition(" [SEP] ")
    text = f"Sentence: {sentence}\nTrait: {trait}"
    return text_candidate(sentence, text, row["label"])


def format_ethics_utilitarianism(row: Row) -> Candidate:
    """The source pairs a scenario with a less pleasant variant; the label tells which comes first.

    The order comes from a hash of the pair, so the label is fixed per row
    and the two orders are equally common.
    """
    more, less = row["baseline"], row["less_pleasant"]
    first_is_better = random.Random(more + less).random() < 0.5
    first, second = (more, less) if first_is_better else (less, more)
    text = f"Scenario A: {first}\nScenario B: {second}\nScenario A is more pleasant."
    return text_candidate(more, text, first_is_better)


def format_anli(row: Row) -> Candidate | None:
    # Labels: 0 entailment, 1 neutral, 2 contradiction; neutral is dropped.
    if row["label"] not in (0, 2):
        return None
    text = f"Premise: {row['premise']}\nHypothesis: {row['hypothesis']}"
    return text_candidate(row["premise"], text, row["label"] == 0)


def format_sentence(row: Row) -> Candidate | None:
    if row["label"] not in (0, 1):
        return None
    return text_candidate(row["sentence"], row["sentence"], row["label"])


def format_hellaswag(row: Row) -> MultipleChoice | None:
    if row["label"] in ("", None):
        return None
    prompt = f"{row['activity_label']}: {row['ctx']}"
    return question(row["ctx"], prompt, list(row["endings"]), int(row["label"]))


def format_mc_taco(row: Row) -> Candidate:
    text = f"{row['sentence']}\nQuestion: {row['question']}\nAnswer: {row['answer']}"
    return text_candidate(row["sentence"] + row["question"], text, row["label"])


def format_openbookqa(row: Row) -> MultipleChoice | None:
    labels = list(row["choices"]["label"])
    if row["answerKey"] not in labels:
        return None
    return question(row["question_stem"], row["question_stem"], list(row["choices"]["text"]), labels.index(row["answerKey"]))


def format_paws(row: Row) -> Candidate:
    text = f"Sentence 1: {row['sentence1']}\nSentence 2: {row['sentence2']}"
    return text_candidate(row["sentence1"], text, row["label"])


def format_quail(row: Row) -> MultipleChoice | None:
    prompt = f"{row['context']}\nQuestion: {row['question']}"
    return question(row["context_id"] + row["question"], prompt, list(row["answers"]), int(row["correct_answer_id"]))


def format_piqa(row: Row) -> MultipleChoice | None:
    return question(row["goal"], f"Goal: {row['goal']}", [row["sol1"], row["sol2"]], int(row["label"]))


def format_quartz(row: Row) -> MultipleChoice | None:
    labels = list(row["choices"]["label"])
    if row["answerKey"] not in labels:
        return None
    prompt = f"{row['para']}\n{row['question']}"
    return question(row["question"], prompt, list(row["choices"]["text"]), labels.index(row["answerKey"]))


def format_sciq(row: Row) -> MultipleChoice | None:
    options = [row["correct_answer"], row["distractor1"], row["distractor2"], row["distractor3"]]
    return question(row["question"], row["question"], options, 0)


def format_social_iqa(row: Row) -> MultipleChoice | None:
    prompt = f"{row['context']} {row['question']}"
    options = [row["answerA"], row["answerB"], row["answerC"]]
    return question(prompt, prompt, options, int(row["label"]) - 1)


def format_multirc(row: Row) -> Candidate:
    text = f"{row['paragraph']}\nQuestion: {row['question']}\nAnswer: {row['answer']}"
    return text_candidate(row["paragraph"] + row["question"], text, row["label"])


def format_wic(row: Row) -> Candidate:
    text = f"Word: {row['word']}\nSentence 1: {row['sentence1']}\nSentence 2: {row['sentence2']}"
    return text_candidate(row["sentence1"] + row["sentence2"], text, row["label"])


def format_tweet_eval(row: Row) -> Candidate | None:
    # Labels: 0 negative, 1 neutral, 2 positive; neutral is dropped.
    if row["label"] not in (0, 2):
        return None
    return text_candidate(row["text"], row["text"], row["label"] == 2)


def format_amazon_polarity(row: Row) -> Candidate:
    text = f"Title: {row['title']}\nReview: {row['content']}"
    return text_candidate(text, text, row["label"])


def format_anthropic_hh(row: Row) -> MultipleChoice:
    """Make the chosen reply the correct choice and the rejected reply the distractor."""
    return MultipleChoice(normalise_space(row["chosen"]), "", row["chosen"].strip(), (row["rejected"].strip(),))


# --- the task table ----------------------------------------------------------

ETHICS_LICENCE = "MIT (ETHICS, Hendrycks et al.)"

# NOTE: hub ids, configs and revisions follow the dataset pages as known when
# this table was written. They were never loaded, because this machine has no
# access to the hub.
HUB_TASKS = (
    HubTask("boolq", "google/boolq", None, "train", "validation", format_boolq,
            "yes/no questions about a Wikipedia passage", "CC-BY-SA-3.0", "strategyqa"),
    HubTask("cosmos_qa", "allenai/cosmos_qa", None, "train", "validation", format_cosmos_qa,
            "commonsense reading comprehension, correct answer or a distractor", "CC-BY-4.0", "social_iqa",
            revision=PARQUET_REVISION),
    HubTask("dream", "dataset-org/dream", None, "train", "test", format_dream,
            "dialogue comprehension, correct answer or a distractor", "research use (DREAM)", "social_iqa"),
    HubTask("ethics_justice", "hendrycks/ethics", "justice", "train", "test", format_ethics_justice,
            "ETHICS justice: is the claim reasonable", ETHICS_LICENCE, "moral_permissibility", revision=PARQUET_REVISION),
    HubTask("ethics_deontology", "hendrycks/ethics", "deontology", "train", "test", format_ethics_deontology,
            "ETHICS deontology: is the excuse reasonable", ETHICS_LICENCE, "moral_permissibility", revision=PARQUET_REVISION),
    HubTask("ethics_virtue", "hendrycks/ethics", "virtue", "train", "test", format_ethics_virtue,
            "ETHICS virtue: does the trait fit the sentence", ETHICS_LICENCE, "moral_permissibility", revision=PARQUET_REVISION),
    HubTask("ethics_utilitarianism", "hendrycks/ethics", "utilitarianism", "train", "test",
            format_ethics_utilitarianism, "ETHICS utilitarianism: which scenario is more pleasant", ETHICS_LICENCE,
            "moral_permissibility", revision=PARQUET_REVISION),
    HubTask("anli_r2", "facebook/anli", None, "train_r2", "test_r2", format_anli,
            "adversarial NLI round 2, entailment vs contradiction", "CC-BY-NC-4.0", "vitaminc"),
    HubTask("cola", "nyu-mll/glue", "cola", "train", "validation", format_sentence,
            "grammatical acceptability of a sentence", "CoLA terms (GLUE)", "hyperbaton"),
    HubTask("sst2", "stanfordnlp/sst2", None, "train", "validation", format_sentence,
            "movie review sentences, positive vs negative", "unstated (SST)", "rotten_tomatoes"),
    HubTask("hellaswag", "Rowan/hellaswag", None, "train", "validation", format_hellaswag,
            "sentence endings, correct or a distractor", "MIT", "social_iqa"),
    HubTask("mc_taco", "CogComp/mc_taco", None, "validation", "test", format_mc_taco,
            "temporal commonsense, plausible answer or not", "unstated (MC-TACO)", "strategyqa",
            revision=PARQUET_REVISION),
    HubTask("openbookqa", "allenai/openbookqa", "main", "train", "test", format_openbookqa,
            "elementary science questions, correct answer or a distractor", "Apache-2.0", "quartz"),
    HubTask("paws", "google-research-datasets/paws", "labeled_final", "train", "test", format_paws,
            "sentence pairs, paraphrase or not", "free use with attribution (PAWS)", "vitaminc"),
    HubTask("quail", "textmachinelab/quail", None, "train", "validation", format_quail,
            "reading comprehension, correct answer or a distractor", "CC-BY-NC-SA-4.0", "social_iqa"),
    HubTask("piqa", "ybisk/piqa", None, "train", "validation", format_piqa,
            "physical commonsense, correct solution or the other one", "AFL-3.0", "quartz", revision=PARQUET_REVISION),
    HubTask("quartz_hub", "allenai/quartz", None, "train", "test", format_quartz,
            "QuaRTz with its knowledge paragraph, full hub splits", "CC-BY-4.0", "quartz"),
    HubTask("sciq", "allenai/sciq", None, "train", "test", format_sciq,
            "science exam questions, correct answer or a distractor", "CC-BY-NC-3.0", "quartz"),
    HubTask("social_iqa_hub", "allenai/social_i_qa", None, "train", "validation", format_social_iqa,
            "Social IQa, full hub splits", "CC-BY-4.0", "social_iqa", revision=PARQUET_REVISION),
    HubTask("multirc", "aps/super_glue", "multirc", "train", "validation", format_multirc,
            "multi-sentence reading comprehension, answer correct or not", "unstated (SuperGLUE)", "strategyqa"),
    HubTask("wic", "aps/super_glue", "wic", "train", "validation", format_wic,
            "same sense of a word in two sentences or not", "CC-BY-NC-4.0", "hyperbaton"),
    HubTask("twitter_sentiment_hub", "cardiffnlp/tweet_eval", "sentiment", "train", "test", format_tweet_eval,
            "tweets, positive vs negative (TweetEval, neutral dropped)", "unstated (TweetEval)", "twitter_sentiment"),
    HubTask("amazon_polarity", "fancyzhx/amazon_polarity", None, "train", "test", format_amazon_polarity,
            "Amazon reviews, positive vs negative", "Apache-2.0", "rotten_tomatoes"),
    HubTask("anthropic_hh", "Anthropic/hh-rlhf", None, "train", "test", format_anthropic_hh,
            "dialogues, the preferred reply or the rejected one", "MIT", "moral_permissibility"),
)

HUB_TASKS_BY_NAME = {task.name: task for task in HUB_TASKS}


# --- loading -----------------------------------------------------------------


def hub_unreachable_message(task: HubTask, reason: str, failure: str = "could not be reached") -> str:
    dataset = task.path + (f" ({task.config})" if task.config else "")
    return (
        f"task {task.name!r} needs the Hugging Face hub (dataset {dataset}), which {failure}: {reason}; "
        f"the closest offline task is {task.closest_offline!r}"
    )


def hub_host_resolves() -> bool:
    """Return whether the hub's host name resolves, since without it every download only retries."""
    host = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co")).hostname or "huggingface.co"
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def load_hub_split(task: HubTask, split: str) -> Any:
    """``datasets.load_dataset`` for one split, with hub failures turned into a DataError."""
    offline_mode = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("HF_DATASETS_OFFLINE", "") not in ("", "0")
    if not offline_mode and not hub_host_resolves():
        raise DataError(hub_unreachable_message(
            task, "the host name does not resolve (set HF_HUB_OFFLINE=1 to use a copy in the local datasets cache)"))

    import datasets
    import datasets.exceptions

    try:
        return datasets.load_dataset(task.path, task.config, split=split, revision=task.revision)
    except OSError as error:
        # ConnectionError and the hub client's HTTP and not-found errors are OSErrors
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(hub_unreachable_message(task, f"{type(error).__name__}: {reason}")) from None
    except (ValueError, RuntimeError, datasets.exceptions.DatasetsError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise DataError(hub_unreachable_message(task, f"{type(error).__name__}: {reason}", "failed to load")) from None


def format_rows(task: HubTask, rows: list[Row], rng: random.Random) -> list[Candidate]:
    """Format dataset rows into binary candidates, one per row or per question."""
    candidates: list[Candidate] = []
    questions: list[MultipleChoice] = []
    for row in rows:
        formatted = task.format_row(row)
        if isinstance(formatted, MultipleChoice):
            questions.append(formatted)
        elif formatted is not None:
            candidates.append(formatted)
    return candidates + binary_from_choices(questions, rng, QUESTION_TEMPLATE if questions and questions[0].prompt else "{answer}")


def to_examples(candidates: list[Candidate], rng: random.Random) -> list[Example]:
    examples = [Example(example_id(c.text), (c.text,), c.label) for c in candidates]
    rng.shuffle(examples)
    return examples


def hub_task_data(task: HubTask, train_rows: list[Row], test_rows: list[Row], seed: int = 0) -> TaskData:
    """Build balanced binary task data from rows of the two splits.

    Training texts and groups that also occur in the test split are removed,
    so no test text (and no test question) reaches either training half.
    """
    rng = random.Random(f"{task.name}:{seed}")
    test = balance(deduplicate(format_rows(task, test_rows, rng)), rng)
    test_texts = {c.text for c in test}
    test_groups = {c.group for c in test}

    train = deduplicate(format_rows(task, train_rows, rng))
    train = [c for c in train if c.text not in test_texts and c.group not in test_groups]
    train = balance(train, rng)
    if not train or not test:
        raise DataError(f"task {task.name!r}: formatting left {len(train)} training and {len(test)} test texts")
    return TaskData(task.name, "classify", 2, to_examples(train, rng), to_examples(test, rng))


def subsample(dataset: Any, limit: int, seed: int) -> list[Row]:
    if len(dataset) > limit:
        dataset = dataset.shuffle(seed=seed).select(range(limit))
    return list(dataset)


class HubBinaryTask:
    """A task loaded from the hub with ``datasets.load_dataset``."""

    def __init__(self, name: str, max_rows: int = MAX_ROWS_PER_SPLIT) -> None:
        self.spec = HUB_TASKS_BY_NAME[name]
        self.max_rows = max_rows

    def describe(self) -> dict[str, str]:
        config = f" ({self.spec.config})" if self.spec.config else ""
        return {
            "source": f"Hugging Face hub dataset {self.spec.path}{config}, splits {self.spec.train_split} / {self.spec.test_split}",
            "licence": self.spec.licence,
            "availability": "hub",
        }

    def load(self) -> TaskData:
        train = subsample(load_hub_split(self.spec, self.spec.train_split), self.max_rows, seed=0)
        test = subsample(load_hub_split(self.spec, self.spec.test_split), self.max_rows, seed=0)
        return hub_task_data(self.spec, train, test)
