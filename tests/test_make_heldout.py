"""tools/make_heldout.py: whole classes from a git snapshot, grey photos and non-object classes dropped, seeded."""
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers import load_script

ROOT = Path(__file__).resolve().parents[1]


def load_tool():
    return load_script("tools/make_heldout.py")


def jpeg(path: Path, colour: bool, seed: int):
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)
    if not colour:
        px[..., 1] = px[..., 2] = px[..., 0]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(px).save(path, quality=95)


@pytest.fixture
def snapshot(tmp_path):
    repo = tmp_path / "snap"
    cats = repo / "101_ObjectCategories"
    for i in range(5):
        jpeg(cats / "lamp" / f"image_{i:04d}.jpg", True, i)
        jpeg(cats / "Faces" / f"image_{i:04d}.jpg", True, 10 + i)
    jpeg(cats / "kettle" / "image_0001.jpg", True, 20)
    jpeg(cats / "kettle" / "image_0002.jpg", False, 21)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    return repo / ".git"


def test_objects_keep_whole_colour_classes_and_refuse_to_overwrite(snapshot, tmp_path, capsys):
    tool = load_tool()
    out = tmp_path / "objects"
    assert tool.main(["objects", "--git", str(snapshot), "--commit", "HEAD", "-o", str(out), "--per-class", "3"]) == 0
    listed = (out / "files.txt").read_text().split()
    assert len(listed) == 4 and sum(p.startswith("lamp/") for p in listed) == 3
    assert listed.count("kettle/image_0001.jpg") == 1 and "kettle/image_0002.jpg" not in listed  # grey dropped
    assert not any(p.startswith("Faces/") for p in listed)
    assert all((out / p).is_file() for p in listed)
    assert (out / "classes.txt").read_text().split() == ["kettle", "lamp"]
    assert "1 already grey" in (out / "README.md").read_text()
    again = tmp_path / "again"
    tool.main(["objects", "--git", str(snapshot), "--commit", "HEAD", "-o", str(again), "--per-class", "3"])
    assert (again / "files.txt").read_text() == (out / "files.txt").read_text()  # seeded: the same draw
    before = (out / "files.txt").read_text()
    assert tool.main(["objects", "--git", str(snapshot), "--commit", "HEAD", "-o", str(out)]) == 2
    assert (out / "files.txt").read_text() == before and "already exists" in capsys.readouterr().err


def test_a_class_shared_with_imagenette_is_refused(tmp_path):
    tool = load_tool()
    repo = tmp_path / "snap"
    jpeg(repo / "101_ObjectCategories" / "golf_ball" / "image_0001.jpg", True, 0)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    with pytest.raises(SystemExit, match="Imagenette"):
        tool.main(["objects", "--git", str(repo / ".git"), "--commit", "HEAD", "-o", str(tmp_path / "o")])


def test_people_draw_whole_photos_seeded(tmp_path):
    tool = load_tool()
    repo = tmp_path / "snap"
    for i in range(8):
        jpeg(repo / "photos" / f"{i:04d}.jpg", True, i)
    jpeg(repo / "annotations" / "0000.jpg", True, 99)  # not a photo of the set
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    out = tmp_path / "people"
    assert tool.main(["people", "--git", str(repo / ".git"), "--commit", "HEAD", "--count", "3", "-o", str(out)]) == 0
    listed = (out / "files.txt").read_text().split()
    expected = sorted(__import__("random").Random(0).sample([f"photos/{i:04d}.jpg" for i in range(8)], 3))
    assert listed == [p.split("/", 1)[1] for p in expected]
    assert all((out / p).read_bytes() == (repo / "photos" / p).read_bytes() for p in listed)
    assert "whole-figure people" in (out / "README.md").read_text()


def test_sample_links_a_seeded_draw_of_one_or_several_folders(tmp_path):
    tool = load_tool()
    for name, n in (("a", 6), ("b", 4)):
        for i in range(n):
            jpeg(tmp_path / name / "sub" / f"{i}.jpg", True, i)
    one = tmp_path / "one"
    assert tool.main(["sample", "--source", str(tmp_path / "a"), "--count", "3", "--seed", "4", "-o", str(one)]) == 0
    drawn = sorted(__import__("random").Random(4).sample([f"sub/{i}.jpg" for i in range(6)], 3))
    assert (one / "files.txt").read_text().split() == drawn
    assert sorted(p.resolve() for p in one.glob("*.jpg")) == [(tmp_path / "a" / d).resolve() for d in drawn]
    mixed = tmp_path / "mixed"
    assert tool.main(["sample", "--source", f"{tmp_path / 'a'}:2", f"{tmp_path / 'b'}:3", "--seed", "4",
                      "-o", str(mixed)]) == 0
    rng = __import__("random").Random(4)
    first = sorted(rng.sample([f"sub/{i}.jpg" for i in range(6)], 2))   # one generator, in turn
    second = sorted(rng.sample([f"sub/{i}.jpg" for i in range(4)], 3))
    listed = (mixed / "files.txt").read_text().split()
    assert listed == [str(tmp_path / "a" / d) for d in first] + [str(tmp_path / "b" / d) for d in second]
    assert sorted(p.resolve() for p in mixed.glob("*.jpg")) == sorted(Path(p).resolve() for p in listed)
    assert tool.main(["sample", "--source", str(tmp_path / "a"), "-o", str(mixed)]) == 2   # never written over
