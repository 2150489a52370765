"""``tinct colorize`` never writes over its own inputs (not even with --overwrite), and never hands a file to a
decoder outside the raster allow-list (EPS/PS/PDF would start Ghostscript)."""
from __future__ import annotations

import os

import pytest
from PIL import Image

from helpers import make_image_folder, sha256_files


def test_output_folder_equal_to_the_input_folder_leaves_the_inputs_untouched(tinct_cli, tmp_path):
    make_image_folder(tmp_path / "in", 3)
    before = sha256_files(tmp_path / "in", "*")
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "in", "--overwrite", "-q")
    assert res.rc == 1
    lines = res.error_lines()
    assert len(lines) == 3 and all("is one of the inputs" in ln and "--overwrite" in ln for ln in lines), res.err
    assert sha256_files(tmp_path / "in", "*") == before      # same files, same bytes, nothing added
    assert not [n for n in os.listdir(tmp_path / "in") if n.startswith(".")]


def test_single_file_onto_itself_or_a_link_to_it_is_refused(tinct_cli, tmp_path):
    src = make_image_folder(tmp_path, 1)[0]
    data = src.read_bytes()
    (tmp_path / "link.jpg").symlink_to(src.name)
    for out in (src, tmp_path / "link.jpg"):
        res = tinct_cli("colorize", src, "-o", out, "--overwrite")
        assert res.rc == 1 and "is one of the inputs" in res.err, res.err
        assert src.read_bytes() == data and (tmp_path / "link.jpg").is_symlink()


def test_other_inputs_of_the_batch_are_protected_too(tinct_cli, tmp_path):
    """a.jpg -> out/a.png must not replace an input out/a.png; b.jpg still goes through."""
    make_image_folder(tmp_path / "in", 2, prefix="p")
    make_image_folder(tmp_path / "out", 1, prefix="p", ext=".png", seed=5)
    victim = tmp_path / "out" / "p00000.png"
    data = victim.read_bytes()
    res = tinct_cli("colorize", tmp_path / "in", victim, "-o", tmp_path / "out", "--ext", "png", "--overwrite", "-q")
    assert res.rc == 1 and len(res.error_lines()) == 2, res.err   # in/p00000.jpg and out/p00000.png itself
    assert victim.read_bytes() == data
    assert Image.open(tmp_path / "out" / "p00001.png").size == Image.open(tmp_path / "in" / "p00001.jpg").size


def test_same_folder_with_another_extension_is_allowed(tinct_cli, tmp_path):
    make_image_folder(tmp_path / "in", 2)
    before = sha256_files(tmp_path / "in", "*.jpg")
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "in", "--ext", "png", "-q")
    assert res.rc == 0, res.err
    assert sha256_files(tmp_path / "in", "*.jpg") == before
    assert len(list((tmp_path / "in").glob("*.png"))) == 2


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n%%EndComments\n"
       b"0 0 moveto 16 16 lineto stroke\nshowpage\n%%EOF\n")


@pytest.fixture
def no_ghostscript(monkeypatch):
    """Record any attempt to run Ghostscript (Pillow's EPS decoder) instead of running it."""
    from PIL import EpsImagePlugin
    calls = []

    def record(*a, **k):
        calls.append(a)
        raise OSError("Ghostscript must not be run")
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", record)
    monkeypatch.setattr(EpsImagePlugin, "gs_windows_binary", "gs", raising=False)
    return calls


def test_plain_pillow_would_run_ghostscript_on_this_file(tmp_path, no_ghostscript):
    """The control: without the allow-list this EPS reaches the Ghostscript call."""
    (tmp_path / "a.eps").write_bytes(EPS)
    with pytest.raises(OSError), Image.open(tmp_path / "a.eps") as im:
        im.load()
    assert no_ghostscript


@pytest.mark.parametrize("name,data,word", [("page.eps", EPS, "EPS"), ("photo.jpg", EPS, "EPS"),
                                            ("doc.pdf", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n", "PDF")])
def test_cli_refuses_postscript_and_pdf_without_running_anything(tinct_cli, tmp_path, no_ghostscript, name,
                                                                 data, word):
    (tmp_path / name).write_bytes(data)
    good = make_image_folder(tmp_path, 1)[0]
    res = tinct_cli("colorize", tmp_path / name, good, "-o", tmp_path / "out", "-q")
    assert res.rc == 1
    [line] = res.error_lines()
    assert name in line and word in line and "refused" in line, line
    assert not no_ghostscript
    assert [p.name for p in (tmp_path / "out").iterdir()] == [good.name]   # the rest of the batch went on
    res = tinct_cli("colorize", "-", stdin=data)
    assert res.rc == 1 and word in res.err and not res.out and not no_ghostscript
