"""fsspec URLs for ``tinct colorize --ray`` (files/urls.py, files/plan_urls.py, cluster/start.py), in-process on
fsspec's ``memory://`` file system: planning mirrors local folders, the writers never leave a partial or
temporary file, a worker row reads and writes URLs with plain colorize's pixels (within one level), and the
one-line errors (URL without --ray, missing backend). The Ray jobs on ``file://`` URLs are in test_cluster.py."""
from __future__ import annotations

import copy
import io
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec")

from helpers import make_image_folder  # noqa: E402
from tinct.files import urls  # noqa: E402
from tinct.files.options import ColorizeOptions  # noqa: E402
from tinct.files.plan import UsageError  # noqa: E402
from tinct.files.plan_urls import plan_urls  # noqa: E402
from tinct.files.write import OutputError, OutputExists  # noqa: E402

TREE = ["a.jpg", "b.png", "c.gif", ".hidden.jpg", "notes.txt", ".tinct-1-ab12.part", "box/d.jpg",
        "box/deep/e.tif", ".cache/f.jpg"]


@pytest.fixture
def mem():
    """A fresh root on the process-wide memory file system -> (fs, 'memory://<root>'); removed afterwards."""
    fs = fsspec.filesystem("memory")
    root = f"t{uuid.uuid4().hex[:8]}"
    yield fs, f"memory://{root}"
    if fs.exists(f"/{root}"):
        fs.rm(f"/{root}", recursive=True)


def _args(inputs, out=None, **kw):
    base = dict(inputs=[str(i) for i in inputs], out=out, recursive=False, ext="same", overwrite=False,
                skip_existing=False)
    return ColorizeOptions(**{**base, **kw})


def _fill(fs, url, names, data=b"img"):
    for n in names:
        fs.pipe_file(urls.split(urls.join(url, n))[1], data)


def test_url_recognition_and_the_o_argument():
    assert urls.is_url("s3://bucket/scans") and urls.is_url("file:///abs/x") and urls.is_url("memory://x")
    assert not urls.is_url("/abs/x") and not urls.is_url("rel/x") and not urls.is_url("C:\\x")
    assert not urls.is_url(Path("s3://b"))     # a Path has lost its '//'
    assert urls.out_arg("gs://b/out") == "gs://b/out" and urls.out_arg("out") == Path("out")
    assert urls.join("s3://b/scans", "box", "a.jpg") == "s3://b/scans/box/a.jpg"
    assert urls.join("s3://b/scans/", "", "a.jpg") == "s3://b/scans/a.jpg"


@pytest.mark.parametrize("recursive,ext,with_out", [(True, "same", True), (False, "same", True),
                                                     (True, "png", True), (True, "same", False)])
def test_plan_gives_the_names_plain_colorize_gives_a_local_folder(mem, tmp_path, recursive, ext, with_out):
    from tinct.files.plan import plan
    fs, root = mem
    _fill(fs, root + "/in", TREE + ["a_color.jpg"] * (not with_out))
    for n in TREE + ["a_color.jpg"] * (not with_out):
        (tmp_path / "in" / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / n).write_bytes(b"img")
    kw = dict(recursive=recursive, ext=ext, overwrite=not with_out)   # (a_color.jpg exists, and is no input)
    local = plan(_args([tmp_path / "in"], tmp_path / "out" if with_out else None, **kw))
    got = plan_urls(_args([root + "/in"], root + "/out" if with_out else None, **kw))
    assert got.errors == [] and local.errors == []
    want = sorted((str(j.src.relative_to(tmp_path)), str(j.out.relative_to(tmp_path)), j.fmt) for j in local.jobs)
    pairs = sorted((j.src[len(root) + 1:], j.out[len(root) + 1:], j.fmt) for j in got.jobs)
    assert pairs == want and len(pairs) >= 3
    assert all(j.name == j.src and j.kind == "url" for j in got.jobs)   # the URL as the user would write it


def test_existing_outputs_are_skipped_or_fail_and_the_output_folder_is_not_an_input(mem):
    fs, root = mem
    _fill(fs, root, ["a.jpg", "b.jpg", "c.jpg", "out/a.jpg", "out/x.jpg"])
    args = _args([root], root + "/out", recursive=True)
    p = plan_urls(args)           # out/ lies inside the input: its files are not inputs
    assert [j.name for j in p.jobs] == [f"{root}/b.jpg", f"{root}/c.jpg"] and p.skipped == 0
    assert p.errors == [(f"{root}/a.jpg", f"{root}/out/a.jpg already exists (use --overwrite to replace it, "
                                          "--skip-existing to skip)")]
    p = plan_urls(_args([root], root + "/out", recursive=True, skip_existing=True))
    assert len(p.jobs) == 2 and p.skipped == 1 and p.errors == []
    p = plan_urls(_args([root], root + "/out", recursive=True, overwrite=True))
    assert len(p.jobs) == 3 and p.errors == []


def test_plan_errors_are_one_line_per_input(mem):
    fs, root = mem
    _fill(fs, root, ["empty/notes.txt", "x.jpg"])
    p = plan_urls(_args([root + "/nothing", root + "/empty", root + "/x.jpg", root + "/x.jpg"], root + "/o"))
    assert p.errors == [(f"{root}/nothing", "no such file or directory"), (f"{root}/empty", "no images found")]
    assert [j.out for j in p.jobs] == [f"{root}/o/x.jpg"]          # a repeated input is colorized once
    p = plan_urls(_args([root + "/x.jpg"], None))
    assert [j.out for j in p.jobs] == [f"{root}/x_color.jpg"]
    with pytest.raises(UsageError, match="must be a folder"):
        plan_urls(_args([root + "/x.jpg"], root + "/out.png"))
    with pytest.raises(UsageError, match="stdin"):
        plan_urls(_args(["-", root + "/x.jpg"]))


def _listing(fs, folder):
    return sorted(p.rsplit("/", 1)[1] for p in fs.ls(folder, detail=False))


@pytest.mark.parametrize("direct", [False, True])
def test_put_bytes_publishes_complete_files_only(mem, direct):
    fs, root = mem
    folder = urls.split(root + "/o")[1]
    urls.put_bytes(fs, folder + "/a.png", b"complete", direct=direct, tag="ab")
    assert fs.cat_file(folder + "/a.png") == b"complete" and _listing(fs, folder) == ["a.png"]
    with pytest.raises(OutputExists):
        urls.put_bytes(fs, folder + "/a.png", b"other", direct=direct)
    assert fs.cat_file(folder + "/a.png") == b"complete"
    urls.put_bytes(fs, folder + "/a.png", b"replaced", overwrite=True, direct=direct)
    assert fs.cat_file(folder + "/a.png") == b"replaced" and _listing(fs, folder) == ["a.png"]


def test_temp_then_move_leaves_nothing_when_the_move_fails(mem, monkeypatch):
    fs, root = mem
    folder = urls.split(root + "/o")[1]
    seen = []

    def broken_mv(src, dst, **kw):
        seen.append((src.rsplit("/", 1)[1], fs.cat_file(src)))   # the temporary holds the complete bytes
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(fs, "mv", broken_mv)
    with pytest.raises(OutputError, match="no space left on device"):
        urls.put_bytes(fs, folder + "/b.jpg", b"all of it", direct=False, tag="cd")
    assert seen and seen[0][1] == b"all of it" and seen[0][0].startswith(".tinct-")
    assert not fs.exists(folder + "/b.jpg") and _listing(fs, folder) == []   # no partial, no temporary


def test_remove_temps_removes_only_this_jobs(mem):
    fs, root = mem
    folder = urls.split(root)[1]
    _fill(fs, root, [".tinct-12-ab01ff.part", ".tinct-12-cd01ff.part", "a.jpg", ".tinct-x.part"])
    assert urls.remove_temps(fs, folder, "ab") == 1
    assert _listing(fs, folder) == [".tinct-12-cd01ff.part", ".tinct-x.part", "a.jpg"]


def _pixels(data: bytes) -> np.ndarray:
    from PIL import Image
    return np.asarray(Image.open(io.BytesIO(data)), dtype=np.int16)


def test_a_worker_row_on_urls_gives_plain_colorizes_output_once(mem, tinct_cli, tmp_path, colorizer):
    """A worker colorizes one photo per forward and a plain folder run batches them: the same photo, the same
    size and mode, pixels within one 8-bit level (pipeline/batch.py's contract: differently-shaped matrix
    products round differently, e.g. with OMP_NUM_THREADS=1), written once."""
    from tinct.cluster.worker import ColorizeWorker, worker_opts
    from tinct.cli.main import build_parser
    fs, root = mem
    src = make_image_folder(tmp_path / "in", 2, size=40, ext=".png")
    (tmp_path / "in" / "bad.jpg").write_bytes(b"not an image")
    opts = ["--size", "64", "--precision", "fp32"]
    plain = tinct_cli("colorize", tmp_path / "in", "-o", tmp_path / "plain", *opts, "-q")
    assert plain.rc == 1
    for p in [*src, tmp_path / "in" / "bad.jpg"]:
        fs.pipe_file(urls.split(f"{root}/in/{p.name}")[1], p.read_bytes())
    w = ColorizeWorker.__new__(ColorizeWorker)      # the session's model instead of a second load
    w.opts = worker_opts(ColorizeOptions.of(build_parser().parse_args(["colorize", "x", *opts])))
    w.colorizer, w.marker = copy.copy(colorizer), None
    w.colorizer.set_precision("fp32")
    for p in src:
        assert w._one(f"{root}/in/{p.name}", f"{root}/out/{p.name}", "PNG") == ("ok", "")
        got = _pixels(fs.cat_file(urls.split(f"{root}/out/{p.name}")[1]))
        want = _pixels((tmp_path / "plain" / p.name).read_bytes())
        assert got.shape == want.shape and np.abs(got - want).max() <= 1, p.name
    first = fs.store[urls.split(f"{root}/out/{src[0].name}")[1]]
    assert w._one(f"{root}/in/{src[0].name}", f"{root}/out/{src[0].name}", "PNG") == ("done", "")   # a retry
    assert fs.store[urls.split(f"{root}/out/{src[0].name}")[1]] is first                          # kept
    status, why = w._one(f"{root}/in/bad.jpg", f"{root}/out/bad.jpg", "JPEG")
    assert status == "fail" and plain.error_lines() == [f"tinct: {tmp_path / 'in' / 'bad.jpg'}: {why}"]
    assert _listing(fs, urls.split(root + "/out")[1]) == sorted(p.name for p in src)


def test_a_url_without_ray_is_a_one_line_usage_error(tinct_cli, tmp_path):
    make_image_folder(tmp_path / "in", 1, size=40)
    r = tinct_cli("colorize", tmp_path / "in", "-o", "memory://never/out")
    assert r.rc == 2 and len(r.err.strip().splitlines()) == 1
    assert r.error_lines() == ["tinct: memory://never/out: URLs are read and written by the cluster mode only: "
                               "add --ray (alone: a local Ray on this machine)"]


def test_a_missing_backend_is_a_one_line_error_before_any_work(tinct_cli, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    import tinct.cli.colorize as colorize_cmd
    import tinct.cluster.job as job
    make_image_folder(tmp_path / "in", 1, size=40)
    monkeypatch.setitem(sys.modules, "s3fs", None)     # import s3fs -> ImportError, installed or not
    monkeypatch.delitem(sys.modules["fsspec.registry"]._registry, "s3", raising=False)   # not imported yet
    monkeypatch.setattr(colorize_cmd, "load_colorizer", lambda *a, **k: pytest.fail("a model was loaded"))
    monkeypatch.setattr(job, "connect", lambda *a, **k: pytest.fail("Ray was started"))
    r = tinct_cli("colorize", tmp_path / "in", "-o", "s3://bucket/coloured", "--ray")
    assert r.rc == 2
    assert r.err.strip().splitlines() == ["tinct: s3://bucket/coloured: s3:// URLs need the s3fs package: "
                                          "pip install s3fs"]
    r = tinct_cli("colorize", "nosuch://x/y", "-o", tmp_path / "out", "--ray")
    assert r.rc == 2 and len(r.error_lines()) == 1
    assert r.error_lines()[0].startswith("tinct: nosuch://x/y: nosuch:// is not a URL scheme tinct reads or writes")
    assert not (tmp_path / "out").exists()


def test_put_bytes_on_local_files_uses_the_local_atomic_writer(tmp_path):
    fs = urls.local_fs()
    urls.put_bytes(fs, str(tmp_path / "new" / "r.tsv"), b"one")   # folder made, as for local outputs
    with pytest.raises(OutputExists):
        urls.put_bytes(fs, str(tmp_path / "new" / "r.tsv"), b"two")
    urls.put_bytes(fs, str(tmp_path / "new" / "r.tsv"), b"three", overwrite=True)
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["r.tsv"]
    assert (tmp_path / "new" / "r.tsv").read_bytes() == b"three"


def test_an_unlistable_output_folder_fails_its_inputs_with_one_line(mem, monkeypatch):
    fs, root = mem
    _fill(fs, root, ["in/a.jpg", "in/b.jpg"])
    real_ls = fs.ls
    monkeypatch.setattr(fs, "ls", lambda p, *a, **k: (_ for _ in ()).throw(PermissionError(13, "Access Denied"))
                        if "/out" in p else real_ls(p, *a, **k))
    p = plan_urls(_args([root + "/in"], root + "/out"))
    assert p.jobs == [] and [n for n, _ in p.errors] == [f"{root}/in/a.jpg", f"{root}/in/b.jpg"]
    assert p.errors[0][1] == f"cannot list output folder memory:///{root[len('memory://'):]}/out: access Denied"
