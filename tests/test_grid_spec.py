"""Grid specs: TOML files and flags expanded into cells, and bad input rejected with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from grid_support import REPO, run_cli, write_grid
from w2s_bench.grid.spec import FlagOverrides, load_grid
from w2s_bench.grid.toml_source import GridSpecError
from w2s_bench.pipeline import DEFAULT_TRAIN
from w2s_bench.registry import Registry


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry()


def cells_of(path: Path | None, registry: Registry, on_gpu: bool = False, **flags) -> list:
    return load_grid(path, FlagOverrides(**flags), registry).cells(on_gpu=on_gpu)


def test_default_grid_expands_every_pair(registry: Registry) -> None:
    cells = cells_of(REPO / "grids" / "default.toml", registry)
    pairs = {(cell.weak, cell.strong) for cell in cells}

    # two tasks on 4 models (6 weaker → stronger pairs) and chess on its 3
    # networks (3 pairs), each pair × 3 methods × 3 seeds
    assert len(cells) == (2 * 6 + 3) * 3 * 3
    assert ("minilm-l2", "mpnet-base") in pairs
    assert ("chess-tiny", "chess-base") in pairs
    assert ("mpnet-base", "minilm-l1") not in pairs
    assert {cell.method for cell in cells} == {"naive", "aux_conf", "bootstrap"}
    assert {(cell.max_train, cell.max_test) for cell in cells} == {(4000, 1000)}


def test_task_tables_override_top_level(tmp_path: Path, registry: Registry) -> None:
    path = write_grid(tmp_path / "g.toml", """
        seeds = [0, 1]
        methods = ["naive"]
        pairs = [["minilm-l1", "minilm-l2"]]

        [tasks.rotten_tomatoes]
        seeds = [5]
        epochs = 3
        methods = ["naive", { name = "aux_conf", options = { alpha_max = 0.75 } }]
    """)

    cells = cells_of(path, registry)

    assert [(cell.seed, cell.method) for cell in cells] == [(5, "naive"), (5, "aux_conf")]
    assert cells[1].method_options == {"alpha_max": 0.75}
    assert cells[0].train.epochs == 3
    assert cells[0].train.lr == DEFAULT_TRAIN["probe"].lr


def test_unset_sizes_follow_the_device(tmp_path: Path, registry: Registry) -> None:
    path = write_grid(tmp_path / "g.toml", 'tasks = ["rotten_tomatoes"]\n')

    cpu_cell = cells_of(path, registry)[0]
    gpu_cell = cells_of(path, registry, on_gpu=True)[0]

    assert (cpu_cell.max_train, cpu_cell.max_test) == (4000, 1000)
    assert (gpu_cell.max_train, gpu_cell.max_test) == (None, None)


def test_zero_and_all_mean_every_example(tmp_path: Path, registry: Registry) -> None:
    path = write_grid(tmp_path / "g.toml", 'tasks = ["rotten_tomatoes"]\nmax_train = 0\nmax_test = "all"\n')

    cell = cells_of(path, registry)[0]

    assert (cell.max_train, cell.max_test) == (None, None)


def test_default_optimiser_leaves_train_unset(tmp_path: Path, registry: Registry) -> None:
    # None keeps the cell keys of `w2s-bench run`, so a grid reuses its phases
    path = write_grid(tmp_path / "g.toml", 'tasks = ["rotten_tomatoes"]\n')

    assert cells_of(path, registry)[0].train is None


def test_flags_override_file_and_task_tables(tmp_path: Path, registry: Registry) -> None:
    path = write_grid(tmp_path / "g.toml", """
        seeds = [0, 1, 2]
        ladders = [["minilm-l1", "minilm-l2", "minilm-l6"]]
        [tasks.rotten_tomatoes]
        seeds = [7]
        max_train = 1000
    """)

    cells = cells_of(path, registry, seeds=[3], strong="mpnet-base", max_train=300)

    assert {cell.seed for cell in cells} == {3}
    assert {(cell.weak, cell.strong) for cell in cells} == {("minilm-l1", "mpnet-base"), ("minilm-l2", "mpnet-base")}
    assert {cell.max_train for cell in cells} == {300}


def test_flags_alone_make_a_grid(registry: Registry) -> None:
    cells = cells_of(None, registry, tasks=["rotten_tomatoes"], methods=["naive", "aux_conf"], seeds=[0, 1],
                     ladder=["minilm-l1", "minilm-l2", "mpnet-base"], mode="probe")

    assert len(cells) == 3 * 2 * 2
    assert cells[0].task == "rotten_tomatoes"


def test_cell_order_groups_shared_phases(tmp_path: Path, registry: Registry) -> None:
    path = write_grid(tmp_path / "g.toml", 'tasks = ["rotten_tomatoes"]\nseeds = [0, 1]\nmethods = ["naive", "aux_conf"]\n')

    cells = cells_of(path, registry)

    assert [(cell.seed, cell.method) for cell in cells] == [(0, "naive"), (0, "aux_conf"), (1, "naive"), (1, "aux_conf")]


BAD_GRIDS = [
    ("unknown top-level field", 'tasks = ["rotten_tomatoes"]\nseed = [0]\n', 2, "seed: unknown field"),
    ("invalid TOML", 'tasks = ["rotten_tomatoes"\n', None, "invalid TOML"),
    ("missing tasks", 'seeds = [0]\n', None, "tasks: missing"),
    ("empty task list", 'tasks = []\n', 1, "tasks: is empty"),
    ("unknown task", 'seeds = [0]\ntasks = ["rotten_tomatos"]\n', 2, "Did you mean rotten_tomatoes"),
    ("unknown task table", 'seeds = [0]\n\n[tasks.sst9]\nseeds = [1]\n', 3, "tasks.sst9: unknown task 'sst9'"),
    ("unknown method", 'tasks = ["rotten_tomatoes"]\nmethods = [\n  "naive",\n  "naiv",\n]\n', 4, "unknown method 'naiv'"),
    ("invalid method option", 'tasks = ["rotten_tomatoes"]\nmethods = [{ name = "aux_conf", options = { alpha_max = 3 } }]\n', 2, "alpha_max=3.0 is invalid"),
    ("method table key", 'tasks = ["rotten_tomatoes"]\nmethods = [{ name = "naive", colour = "red" }]\n', 2, "key 'colour' is unknown"),
    ("negative seed", 'tasks = ["rotten_tomatoes"]\nseeds = [0, -1]\n', 2, "seed -1 is invalid"),
    ("duplicate seed", 'tasks = ["rotten_tomatoes"]\nseeds = [1, 1]\n', 2, "lists a seed twice"),
    ("boolean seed", 'tasks = ["rotten_tomatoes"]\nseeds = [true]\n', 2, "seed True is invalid"),
    ("invalid mode", 'tasks = ["rotten_tomatoes"]\nmode = "linear"\n', 2, "'linear' is invalid"),
    ("size of one", 'tasks = ["rotten_tomatoes"]\nmax_train = 1\n', 2, "max_train: 1 is invalid"),
    ("size as text", 'tasks = ["rotten_tomatoes"]\nmax_test = "many"\n', 2, "max_test: 'many' is invalid"),
    ("zero epochs", 'tasks = ["rotten_tomatoes"]\nepochs = 0\n', 2, "epochs: 0 is invalid"),
    ("ladder of one", 'tasks = ["rotten_tomatoes"]\nladders = [["minilm-l2"]]\n', 2, "at least two model names"),
    ("unknown model", 'tasks = ["rotten_tomatoes"]\npairs = [["minilm-l2", "mpnet-large"]]\n', 2, "unknown model 'mpnet-large'"),
    ("malformed pair", 'tasks = ["rotten_tomatoes"]\npairs = [["minilm-l2"]]\n', 2, "pair ['minilm-l2'] is invalid"),
    ("override of unknown field", 'tasks = { rotten_tomatoes = { device = "cpu" } }\n', 1, "tasks.rotten_tomatoes.device: unknown field"),
    ("duplicate method", 'tasks = ["rotten_tomatoes"]\nmethods = ["naive", "naive"]\n', 2, "same method"),
]


@pytest.mark.parametrize(("body", "line", "message"), [case[1:] for case in BAD_GRIDS], ids=[case[0] for case in BAD_GRIDS])
def test_bad_grid_names_line_and_field(tmp_path: Path, registry: Registry, body: str, line: int | None, message: str) -> None:
    path = write_grid(tmp_path / "bad.toml", body)

    with pytest.raises(GridSpecError) as raised:
        load_grid(path, FlagOverrides(), registry)

    text = str(raised.value)
    assert message in text
    assert text.startswith(f"{path}:{line}: " if line else str(path))


def test_bad_lr_in_task_table(tmp_path: Path, registry: Registry) -> None:
    path = write_grid(tmp_path / "bad.toml", 'seeds = [0]\n\n[tasks.rotten_tomatoes]\nlr = -0.1\n')

    with pytest.raises(GridSpecError, match=r":4: tasks\.rotten_tomatoes\.lr: -0\.1 is invalid"):
        load_grid(path, FlagOverrides(), registry)


def test_bad_flag_is_named_as_flag(registry: Registry) -> None:
    with pytest.raises(GridSpecError, match=r"^--method: .*unknown method 'naiv'"):
        load_grid(None, FlagOverrides(tasks=["rotten_tomatoes"], methods=["naiv"]), registry)


def test_missing_grid_file(tmp_path: Path, registry: Registry) -> None:
    with pytest.raises(GridSpecError, match="not found"):
        load_grid(tmp_path / "nope.toml", FlagOverrides(), registry)


def test_cli_bad_grid_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write_grid(tmp_path / "bad.toml", 'tasks = ["rotten_tomatoes"]\nseeds = "0,1"\n')

    result = run_cli("grid", str(path), "--dry-run", "--runs-dir", str(tmp_path / "runs"))

    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {path}:2: seeds: expected a non-empty list of non-negative integers"


@pytest.mark.parametrize(("args", "message"), [
    ([], "give a grid file"),
    (["--task", "rotten_tomatoes", "--ladder", "minilm-l2"], "at least two models"),
    (["--task", "rotten_tomatoes", "--json"], "--json only applies to --dry-run"),
])
def test_cli_flag_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("grid", *args, "--runs-dir", str(tmp_path / "runs"))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr
