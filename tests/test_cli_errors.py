"""Bad input through the CLI: a clear message, a non-zero exit, no stack trace."""

from __future__ import annotations

import pytest

from tests.helpers import QUICK, assert_clean_error, da_train


def test_unknown_domain_lists_options(tmp_path):
    result = da_train(["source=bow_book"], tmp_path)
    assert_clean_error(result, "bow_book", "Available options", "bow_books")


def test_unknown_method_lists_options(tmp_path):
    result = da_train(["method=dan"], tmp_path)
    assert_clean_error(result, "dan", "Available options", "dann")


def test_missing_data_dir_names_expected_folder(tmp_path):
    result = da_train(["data_dir=" + str(tmp_path / "nowhere")], tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, "rt_polarity_v1", "DA_DATA_DIR")


def test_encoder_modality_mismatch(data_dir, tmp_path):
    result = da_train([*QUICK, "encoder.input=images"], tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, "holds vectors but the encoder takes images", "encoder=mlp")


@pytest.mark.parametrize("override,fragment", [
    ("optimizer.lr=-1", "Invalid learning rate"),
    ("data.batch_size=0", "batch_size must be >= 1"),
    ("method.weight.value=-0.5", "a schedule value must be >= 0, got -0.5"),
    ("data.batch_size=1000", "data.batch_size=1000 is larger than the 360 examples of the source "
                             "train part"),
    ("target.max_examples=0", "bow_electronics.max_examples must be a positive number"),
    ("target.max_examples=1", "bow_electronics.max_examples=1 is fewer than its 2 classes")])
def test_invalid_hyperparameters_fail_before_training(data_dir, tmp_path, override, fragment):
    result = da_train([*QUICK, override], tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, fragment)
    assert "Trainer.fit" not in result.stdout + result.stderr


def test_unknown_encoder_lists_options(tmp_path):
    result = da_train(["encoder=minlm"], tmp_path)
    assert_clean_error(result, "minlm", "Available options", "minilm")


@pytest.mark.parametrize("multirun", [False, True])
def test_unwritable_output_dir_stops_before_anything_runs(tmp_path, multirun):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    result = da_train([*(["-m"] if multirun else []), *QUICK, f"{key}={blocker / 'run'}"],
                      tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, f"cannot create the output folder {blocker / 'run'}",
                       "is a file, not a folder", "DA_OUTPUT_DIR")


def test_empty_domain_file_is_a_data_error(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\n")
    result = da_train(["source=uci_imdb", "target=file", f"target.path={empty}", "encoder=mlp"],
                      tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, "empty.csv", "no rows")


def test_missing_mandatory_value_names_the_key(tmp_path):
    result = da_train(["target=file", "encoder=mlp"], tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, "missing value for 'target.path'")


@pytest.mark.parametrize("override,new", [("model.head_hidden_dims=[50]", "head.hidden_dims"),
                                          ("+model.scheduler_interval=step", "scheduler_interval")])
def test_a_key_of_the_former_model_node_names_its_new_key(tmp_path, override, new):
    result = da_train([override], tmp_path)
    assert result.returncode == 2
    assert_clean_error(result, f"is now '{new}'", "the former 'model' node was split up")


@pytest.mark.parametrize("old,new", [("data.length_buckets", "data.length_bucket_pool"),
                                     ("data.split_seed", "data.val_split_seed"),
                                     ("data.denoiser", "encoder.denoiser")])
@pytest.mark.parametrize("where", ["command line", "experiment file"])
def test_a_renamed_key_names_its_new_name(tmp_path, old, new, where):
    """On the command line (Hydra alone: "not in struct") and in an experiment file (where it
    would reach DomainPairDataModule as an unexpected argument): one line naming the new key."""
    args = [f"{old}=3"]
    if where == "experiment file":
        (tmp_path / "conf" / "experiment").mkdir(parents=True)
        leaf = old.split(".")[1]
        (tmp_path / "conf" / "experiment" / "old.yaml").write_text(
            f"# @package _global_\ndata:\n  {leaf}: 3\n")
        args = [f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "experiment=old"]
    result = da_train(args, tmp_path / "out")
    assert result.returncode == 2
    assert_clean_error(result, f"da-train: error: '{old}' is now '{new}' (renamed or moved)")
    assert "the former 'model' node" not in result.stderr
