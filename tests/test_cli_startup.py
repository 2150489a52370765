"""Start-up of ``tinct colorize``: the command line is built for the named subcommand only, so a photo run does
not import the training, server, evaluation or video code of the other subcommands and tools."""
import subprocess
import sys

PROBE = """
import sys
from tinct.cli.main import build_parser, command_of
args = build_parser(only=command_of(sys.argv[1:])).parse_args(sys.argv[1:])
assert args.command == sys.argv[1]
print(" ".join(sorted(m for m in sys.modules if m.startswith("tinct."))))
"""


def loaded_modules(*argv) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_colorize_builds_only_its_own_parser():
    mods = loaded_modules("colorize", "photos", "-o", "out")
    assert "tinct.cli.colorize" in mods
    assert not {m for m in mods if m.startswith(("tinct.train", "tinct.server", "tinct.evaluate", "tinct.video",
                                                 "tinct.data", "tinct.cluster", "tinct.cli.serve"))}


def test_the_word_after_the_options_names_the_command():
    from tinct.cli.main import command_of
    assert command_of(["colorize", "train"]) == "colorize"       # an input named like a subcommand
    assert command_of(["tune", "runs/v1"]) == "tune"
    assert command_of(["--version"]) is None and command_of(["nonsense"]) is None and command_of([]) is None


def test_help_still_lists_every_subcommand(capsys):
    import pytest
    from tinct.cli.main import main
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in ("colorize", "train", "serve", "tune", "evaluate-video"))
