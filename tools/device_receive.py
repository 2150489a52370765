"""Turn what ``tools/device_run.py train`` brought back into run folders that ``tinct tune``, ``tinct evaluate``,
``tinct gallery`` and ``benchmarks/compare_models.py`` take here.

    python tools/device_receive.py FILES_AT --data /work/data/prep/v2_128 --runs /work/runs --prefix v3

FILES_AT holds either one run's files (model_s<step>.safetensors, config.json, val.jsonl) or, after a run with
``--arm``, one folder per arm plus logs.tar.gz. Each snapshot becomes RUNS/<prefix>[-<arm>]-s<step>/ with the
model file and the run's config.json, whose ``data`` now names the local prepared dataset the device's data was
packed from: ``tinct tune`` then scores the very images the device run held out (device_run places them where
``split_indices`` holds out in both). Snapshots carried in float16 load into the float32 network; ``tinct tune
--write`` stores them back in float32.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from tinct.model.io import model_file_step       # noqa: E402


def _arm_files(files_at: Path) -> dict[str, dict[str, bytes]]:
    """arm name ('' for a single run) -> {file name: bytes} of its config.json and val.jsonl."""
    logs = files_at / "logs.tar.gz"
    if not logs.exists():
        return {"": {n: (files_at / n).read_bytes() for n in ("config.json", "val.jsonl") if (files_at / n).exists()}}
    arms: dict[str, dict[str, bytes]] = {}
    with tarfile.open(logs) as tar:
        for m in tar.getmembers():
            arm, _, name = m.name.partition("/")
            if m.isfile() and name in ("config.json", "val.jsonl"):
                arms.setdefault(arm, {})[name] = tar.extractfile(m).read()
    return arms


def receive(files_at: Path, data: str, runs: Path, prefix: str) -> list[Path]:
    made = []
    for arm, files in sorted(_arm_files(files_at).items()):
        if "config.json" not in files:
            raise SystemExit(f"{files_at}: no config.json for {arm or 'the run'}")
        cfg = json.loads(files["config.json"])
        for model in sorted((files_at / arm).glob("model_s*.safetensors")):
            step = model_file_step(model)
            run = runs / f"{prefix}{'-' + arm if arm else ''}-s{step}"
            run.mkdir(parents=True, exist_ok=True)
            shutil.copy(model, run / "model.safetensors")
            (run / "config.json").write_text(json.dumps(dict(cfg, data=str(data), out=str(run)), indent=1))
            if "val.jsonl" in files:
                (run / "val.jsonl").write_bytes(files["val.jsonl"])
            made.append(run)
    if not made:
        raise SystemExit(f"{files_at}: no model_s<step>.safetensors snapshots found")
    return made


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files_at", type=Path)
    p.add_argument("--data", required=True, help="the local prepared dataset the device data was packed from")
    p.add_argument("--runs", type=Path, required=True)
    p.add_argument("--prefix", required=True)
    args = p.parse_args()
    for run in receive(args.files_at, args.data, args.runs, args.prefix):
        print(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
