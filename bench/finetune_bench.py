"""What the product's own retraining gives: fine-tune the shipped model on the crops
harvested from the real names, as the Train page does, and measure both sides.

    .venv/bin/python bench/finetune_bench.py [--epochs 8] [--data DIR] [--keep DIR]

In a temporary workspace: import ``names/names.csv`` from the shared data, segment,
harvest (the CLI, as a user runs it), then run two training jobs that fine-tune the
active (shipped) model: with rehearsal glyphs (hwocr.rehearsal) drawn from the shared
training data (what a job does when that data is on the machine), with synthetic ones
(what it does elsewhere), and with the class folders alone (``--no-rehearsal``); and
with other rehearsal ratios if asked. All jobs hold out the same names (15%, whole names
at a time), so for each one it prints:

* the held-out names crops: the new version against the shipped model on the same crops
  (the job's own side-by-side score, letters charset);
* what the new version still reads of the base model's world: the writer-disjoint UNIPEN
  letters (letters and alnum charsets), the same with random pens and paper, and the
  held-out MNIST digits (digits charset, and alnum: letters and digits competing, as
  the Recognize page's "both" reads), next to the shipped model;
* the job's wall-clock time and training throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.model_bench import accuracy, machine  # noqa: E402
from hwocr.basemodel import load_base_data, shared_data_dir, validation_sets  # noqa: E402


def hwocr_cli(ws: Path, *args: str) -> str:
    env = {**os.environ, "HWOCR_WORKSPACE": str(ws)}
    done = subprocess.run([sys.executable, "-m", "hwocr", *args, "--quiet"], cwd=REPO, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout + done.stderr


def base_world(model_dir: Path, sets: dict) -> dict[str, float]:
    from hwocr.recognize import Recognizer

    rec = Recognizer.load(model_dir)
    glyphs, truth = sets["unipen_val"]
    return {
        "unipen letters": accuracy(rec, glyphs, truth, "letters"),
        "unipen alnum": accuracy(rec, glyphs, truth, "alnum"),
        "unipen pens/paper": accuracy(rec, *sets["unipen_val_styled"], "letters"),
        "mnist digits": accuracy(rec, *sets["mnist_val"], "digits"),
        "mnist alnum": accuracy(rec, *sets["mnist_val"], "alnum"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="workspace folder to use and keep (default: temporary)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ratios", type=float, nargs="*", default=[],
                        help="also fine-tune with these rehearsal ratios (glyphs per crop; default "
                        "hwocr.config.DEFAULTS.train_rehearsal_ratio)")
    args = parser.parse_args(argv)

    from hwocr.jobs import start_job, wait_for
    from hwocr.versions import shipped_version
    from hwocr.workspace import Workspace

    data_dir = shared_data_dir(args.data)
    names_csv = data_dir / "names" / "names.csv"
    if not names_csv.is_file():
        print(f"skipped: {names_csv} not found")
        return 0
    print(f"# fine-tuning benchmark, {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    print(f"machine: {machine()} (load average at start {[round(v, 2) for v in os.getloadavg()]})")
    tmp = None
    if args.keep:
        ws_dir = args.keep
        ws_dir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="hwocr-finetune-")
        ws_dir = Path(tmp.name)

    t0 = time.perf_counter()
    hwocr_cli(ws_dir, "import", str(names_csv), "--images-root", str(data_dir / "names"))
    hwocr_cli(ws_dir, "segment")
    hwocr_cli(ws_dir, "harvest")
    ws = Workspace(ws_dir)
    crops = sum(1 for p in ws.dataset_dir.rglob("*.png"))
    print(f"workspace: {crops} crops harvested from the real names in {time.perf_counter() - t0:.0f} s")

    sets = validation_sets(load_base_data(data_dir), workers=args.workers)
    base = shipped_version(False)
    rows = {"shipped model": base_world(base.path, sets)}
    report = {"epochs": args.epochs, "crops": crops, "variants": {}}
    variants = [("fine-tuned, rehearsal (shared data)", {"rehearsal_source": "shared"}),
                ("fine-tuned, rehearsal (synthetic)", {"rehearsal_source": "synthetic"}),
                ("fine-tuned, class folders only", {"rehearsal": False})]
    variants += [(f"fine-tuned, rehearsal x{r:g}", {"rehearsal_ratio": r}) for r in args.ratios]
    for label, params in variants:
        started = time.perf_counter()
        job = start_job(ws, "train", {"epochs": args.epochs, "from_active": True, **params})
        job = wait_for(ws, job.id, timeout_s=3600)
        seconds = time.perf_counter() - started
        if job.status != "succeeded":
            print(f"{label}: job {job.id} {job.status}: {job.error}")
            return 1
        r = job.result
        version_dir = ws.models_dir / r["version"]
        rows[label] = {"held-out names crops": r["val_accuracy"], **base_world(version_dir, sets)}
        rows["shipped model"]["held-out names crops"] = r["active_val_accuracy"]
        report["variants"][label] = {**r, "seconds": round(seconds, 1)}
        print(f"{label}: job {job.id}, {r['train_count']} crops + {r['rehearsal_count']} rehearsal glyphs, "
              f"{r['val_count']} held-out crops, {seconds:.0f} s, {r['samples_per_s']:.0f} samples/s")

    columns = ["held-out names crops", "unipen letters", "unipen alnum", "unipen pens/paper", "mnist digits",
               "mnist alnum"]
    print()
    print("| model | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for label, values in rows.items():
        print(f"| {label} | " + " | ".join(f"{values[c]:.2%}" for c in columns) + " |")
    report["accuracy"] = rows
    out = REPO / "bench" / "out" / "finetune_bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=float))
    print(f"\nwrote {out}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
