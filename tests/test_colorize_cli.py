"""``tinct colorize``: folders, outputs, overwriting, stdin/stdout, formats, resuming and killing a batch."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import make_image_folder

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def grey_png(path, w=40, h=30, value=None, mode="L") -> Path:
    rng = np.random.default_rng(len(str(path)))
    a = rng.integers(30, 220, (h, w), dtype=np.uint8) if value is None else np.full((h, w), value, np.uint8)
    Image.fromarray(a, "L").convert(mode).save(path)
    return Path(path)


def snapshot(folder) -> dict:
    """name -> (bytes, mtime_ns) of every file in ``folder`` (recursively)."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def temp_files(folder) -> list[Path]:
    return [p for p in Path(folder).rglob("*") if p.name.startswith(".tinct")]


def assert_clean(res):
    assert "Traceback" not in res.err
    for line in res.error_lines():
        assert "\n" not in line


def test_folder_of_jpegs(tinct_cli, tmp_path):
    srcs = make_image_folder(tmp_path / "in", 5)
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "out", "--quiet")
    assert res.rc == 0, res.err
    assert res.error_lines() == []
    outs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outs] == [p.name for p in srcs]
    for s, o in zip(srcs, outs):
        with Image.open(o) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert im.size == Image.open(s).size


def test_next_to_input_and_rerun_ignores_own_outputs(tinct_cli, tmp_path):
    make_image_folder(tmp_path, 3)
    res = tinct_cli("colorize", tmp_path)
    assert res.rc == 0, res.err
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([f"img{i:05d}.jpg" for i in range(3)] + [f"img{i:05d}_color.jpg" for i in range(3)])
    before = snapshot(tmp_path)
    res = tinct_cli("colorize", tmp_path, "--skip-existing")
    assert res.rc == 0, res.err
    assert snapshot(tmp_path) == before  # no *_color_color, nothing rewritten


def test_corrupt_file_in_folder(tinct_cli, tmp_path):
    srcs = make_image_folder(tmp_path / "in", 4)
    bad = tmp_path / "in" / "img00002_bad.jpg"
    bad.write_bytes(srcs[0].read_bytes()[:200])
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "out")
    assert res.rc == 1
    assert_clean(res)
    lines = res.error_lines()
    assert len(lines) == 1 and lines[0].startswith(f"tinct: {bad}: ")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [p.name for p in srcs]
    assert temp_files(tmp_path) == []


def test_existing_output_is_not_overwritten(tinct_cli, tmp_path):
    make_image_folder(tmp_path / "in", 3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "img00001.jpg").write_bytes(b"precious")
    res = tinct_cli("colorize", tmp_path / "in", "-o", out)
    assert res.rc == 1
    assert (out / "img00001.jpg").read_bytes() == b"precious"
    lines = res.error_lines()
    assert len(lines) == 1 and "img00001.jpg" in lines[0] and "already exists" in lines[0]
    assert (out / "img00000.jpg").is_file() and (out / "img00002.jpg").is_file()

    res = tinct_cli("colorize", tmp_path / "in", "-o", out, "--overwrite")
    assert res.rc == 0, res.err
    with Image.open(out / "img00001.jpg") as im:
        assert im.format == "JPEG"


def test_input_itself_is_never_overwritten(tinct_cli, tmp_path):
    make_image_folder(tmp_path, 2)
    before = snapshot(tmp_path)
    for extra in ([], ["--overwrite"]):  # --overwrite never means "replace my photos" (issue 16)
        res = tinct_cli("colorize", tmp_path, "-o", tmp_path, *extra)
        assert res.rc == 1 and len(res.error_lines()) == 2
        assert snapshot(tmp_path) == before
    assert temp_files(tmp_path) == []


def test_stdin_to_stdout(tinct_cli, tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.full((30, 50), 90, np.uint8)).save(buf, "PNG")
    res = tinct_cli("colorize", "-", stdin=buf.getvalue())
    assert res.rc == 0, res.err
    with Image.open(io.BytesIO(res.out)) as im:
        assert im.format == "PNG" and im.size == (50, 30) and im.mode == "RGB"
    # the format follows the input, or --ext; GIF cannot hold the result -> PNG
    buf = io.BytesIO()
    Image.fromarray(np.full((30, 50), 90, np.uint8)).save(buf, "JPEG")
    assert Image.open(io.BytesIO(tinct_cli("colorize", "-", stdin=buf.getvalue()).out)).format == "JPEG"
    res = tinct_cli("colorize", "-", "--ext", "webp", stdin=buf.getvalue())
    assert Image.open(io.BytesIO(res.out)).format == "WEBP"
    buf = io.BytesIO()
    Image.fromarray(np.full((30, 50), 90, np.uint8)).save(buf, "GIF")
    assert Image.open(io.BytesIO(tinct_cli("colorize", "-", stdin=buf.getvalue()).out)).format == "PNG"
    # garbage on stdin: one line, nothing on stdout
    res = tinct_cli("colorize", "-", stdin=b"not an image")
    assert res.rc == 1 and res.out == b"" and res.error_lines() == [res.err.strip()]
    assert res.err.startswith("tinct: <stdin>: ")


def test_output_file_for_single_input(tinct_cli, tmp_path):
    src = make_image_folder(tmp_path / "in", 1)[0]
    res = tinct_cli("colorize", src, "-o", tmp_path / "result.png")
    assert res.rc == 0, res.err
    with Image.open(tmp_path / "result.png") as im:
        assert im.format == "PNG" and im.size == Image.open(src).size
    res = tinct_cli("colorize", src, "-o", tmp_path / "sub" / "deeper" / "r.webp")
    assert res.rc == 0 and Image.open(tmp_path / "sub" / "deeper" / "r.webp").format == "WEBP"
    # a folder name without a suffix is a folder, made if missing
    res = tinct_cli("colorize", src, "-o", tmp_path / "newdir")
    assert res.rc == 0 and (tmp_path / "newdir" / src.name).is_file()


@pytest.mark.parametrize("args", [
    ["-o", "{t}/x.png", "{t}/in/img00000.jpg", "{t}/in/img00001.jpg"],  # file output, two inputs
    ["-o", "{t}/x.gif", "{t}/in/img00000.jpg"],                         # cannot write GIF
    ["-o", "{t}/x.png", "--ext", "jpg", "{t}/in/img00000.jpg"],         # conflicting formats
    ["--overwrite", "--skip-existing", "{t}/in"],
    ["--hint", "1,2,red", "{t}/in"],
    ["--temperature", "0", "{t}/in"],
    ["--size", "8", "{t}/in"],
    ["--decode", "best", "{t}/in"],
    ["--ext", "gif", "{t}/in"],
    ["--max-pixels", "0", "{t}/in"],
    ["--model", "{t}/no-such-model.safetensors", "{t}/in"],
    ["-", "{t}/in"],
])
def test_usage_errors_exit_2(tinct_cli, tmp_path, args):
    make_image_folder(tmp_path / "in", 2)
    res = tinct_cli("colorize", *[a.format(t=tmp_path) for a in args])
    assert res.rc == 2
    assert "Traceback" not in res.err and res.err.strip()
    assert not (tmp_path / "x.png").exists() and not list((tmp_path / "in").glob("*_color*"))


def test_ext_choices(tinct_cli, tmp_path):
    (tmp_path / "in").mkdir()
    src = grey_png(tmp_path / "in" / "a.png")
    for ext, fmt in [("jpg", "JPEG"), ("webp", "WEBP"), ("png", "PNG")]:
        res = tinct_cli("colorize", src, "-o", tmp_path / ext, "--ext", ext)
        assert res.rc == 0, res.err
        with Image.open(tmp_path / ext / f"a.{ext}") as im:
            assert im.format == fmt and im.size == (40, 30)
    # a transparent input written as JPEG is flattened (documented); as PNG/WebP it keeps its alpha
    rgba = tmp_path / "t" / "t.png"
    rgba.parent.mkdir()
    a = np.zeros((30, 40, 4), np.uint8)
    a[..., :3] = 120
    a[:, 20:, 3] = 255
    Image.fromarray(a, "RGBA").save(rgba)
    assert tinct_cli("colorize", rgba, "--ext", "jpg").rc == 0
    with Image.open(rgba.with_name("t_color.jpg")) as im:
        assert im.mode == "RGB"
        assert np.asarray(im)[:, :15].min() > 240  # transparent half is white
    assert tinct_cli("colorize", rgba, "--ext", "webp").rc == 0
    with Image.open(rgba.with_name("t_color.webp")) as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im)[..., 3], a[..., 3])


def test_same_ext_for_formats_that_cannot_hold_the_result(tinct_cli, tmp_path):
    grey_png(tmp_path / "g.png")
    Image.open(tmp_path / "g.png").save(tmp_path / "anim.gif")
    Image.open(tmp_path / "g.png").save(tmp_path / "p.pgm")
    Image.open(tmp_path / "g.png").save(tmp_path / "b.bmp")
    res = tinct_cli("colorize", tmp_path / "anim.gif", tmp_path / "p.pgm", tmp_path / "b.bmp", "-o", tmp_path / "o")
    assert res.rc == 0, res.err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["anim.png", "b.bmp", "p.png"]


def test_output_name_collisions_are_reported(tinct_cli, tmp_path):
    grey_png(tmp_path / "a.png")
    Image.open(tmp_path / "a.png").save(tmp_path / "a.jpg")
    res = tinct_cli("colorize", tmp_path, "--ext", "png", "-o", tmp_path / "o")
    assert res.rc == 1
    assert len(res.error_lines()) == 1 and "would also be the output of" in res.err
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["a.png"]


def test_recursive(tinct_cli, tmp_path):
    make_image_folder(tmp_path / "in", 2)
    make_image_folder(tmp_path / "in", 2, subdir="sub/deep", prefix="deep")
    res = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "flat")
    assert res.rc == 0 and len(list((tmp_path / "flat").iterdir())) == 2
    res = tinct_cli("colorize", tmp_path / "in", "-r", "-o", tmp_path / "tree")
    assert res.rc == 0, res.err
    got = sorted(str(p.relative_to(tmp_path / "tree")) for p in (tmp_path / "tree").rglob("*.jpg"))
    assert got == ["img00000.jpg", "img00001.jpg", "sub/deep/deep00000.jpg", "sub/deep/deep00001.jpg"]
    # an output folder inside the input tree is not walked into (a rerun finds the same 4 inputs)
    inner = tmp_path / "in" / "colour"
    assert tinct_cli("colorize", tmp_path / "in", "-r", "-o", inner, "-q").rc == 0
    before = snapshot(inner)
    assert tinct_cli("colorize", tmp_path / "in", "-r", "-o", inner, "--skip-existing", "-q").rc == 0
    assert snapshot(inner) == before and len(before) == 4
    # an empty folder is reported, with a pointer to -r
    (tmp_path / "empty" / "x").mkdir(parents=True)
    res = tinct_cli("colorize", tmp_path / "empty")
    assert res.rc == 1 and "no images found" in res.err and "-r" in res.err


def test_missing_input_and_options(tinct_cli, tmp_path):
    grey_png(tmp_path / "a.png")
    res = tinct_cli("colorize", tmp_path / "nope.png", tmp_path / "a.png", "--hint", "5,5,#ff0000,3",
                    "--hint", "30,20,#00ff00", "--decode", "mode", "--temperature", "0.5", "--size", "64",
                    "--device", "cpu", "--quiet")
    assert res.rc == 1
    assert res.error_lines() == [f"tinct: {tmp_path / 'nope.png'}: no such file or directory"]
    assert Image.open(tmp_path / "a_color.png").size == (40, 30)


def test_exif_orientation_and_metadata(tinct_cli, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0132] = "2001:02:03 04:05:06"
    Image.fromarray(np.full((20, 40), 100, np.uint8)).save(tmp_path / "r.jpg", exif=exif)
    assert tinct_cli("colorize", tmp_path / "r.jpg").rc == 0
    with Image.open(tmp_path / "r_color.jpg") as im:
        assert im.size == (20, 40)
        ex = im.getexif()
        assert 0x0112 not in ex and ex.get(0x0132) == "2001:02:03 04:05:06"
