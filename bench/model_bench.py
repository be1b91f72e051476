"""Character model benchmark: accuracy where it matters, latency, training speed.

    .venv/bin/python bench/model_bench.py [--model models/base] [--data DIR] [--skip-names]

Prints, for the model bundle given (default: the shipped base model):

* accuracy on the writer-disjoint UNIPEN validation letters (writers the model never
  saw), drawn plainly, drawn with random pens and paper, and as the dataset's own 28x28
  renders; on the held-out MNIST digits; on UNIPEN's small letters and digits; and the
  62-class summary (each set among its own classes; all glyphs among all 62 classes,
  exact, case-folded and merged to EMNIST-Balanced's 47);
* accuracy on "names crops": letters cut out of the real name images by
  ``hwocr.align.analyze_name`` where its alignment is ``matched`` (the crop is the
  harvest's own ``hwocr.dataset.crop_gray`` when that exists), letters charset, the
  transcription's letter as truth;
* latency of classifying a batch of 10 characters (median and p90 after warm-up) with
  the compiled fast path, with and without the image preprocessing, next to the classic
  ``model.predict(batch)`` in the same run;
* where the errors come from (``error_anatomy``): the small letters' errors split into
  one-stroke i and j (written without their dot, so shaped as l and a hook), letters of
  the pen-up sources (whose strokes include the pen's path in the air, see
  ``hwocr.basemodel.PEN_UP_SOURCES``) and the rest, with the accuracy that is left when
  the first two are set aside; the 62-class case-folded errors split into 0/O and 1/I/l
  (the same shape as a digit and as a letter) and the rest; the top confusions of each;
* training throughput of ``hwocr.train.train`` in samples/s on a short run;
* the machine, its load and the date.

A JSON copy goes to bench/out/model_bench.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hwocr.basemodel import PEN_UP_SOURCES, load_base_data, score_sets, shared_data_dir, validation_sets  # noqa: E402
from hwocr.charsets import fold_case  # noqa: E402
from hwocr.config import DEFAULTS, LETTERS, LOWER, shipped_models_dir  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def accuracy(rec, glyphs: np.ndarray, truth: np.ndarray, charset: str) -> float:
    preds = rec.classify_glyphs(glyphs, charset=charset)
    return float(np.mean([p.label == t for p, t in zip(preds, truth)]))


def names_crops(rec, data_dir: Path, limit: int | None) -> dict | None:
    """Accuracy on letters cut from matched real names, or None with a note."""
    try:
        from hwocr.align import analyze_name
    except Exception as exc:  # noqa: BLE001 - another module, maybe absent or broken: report, go on
        print(f"names crops: skipped, hwocr.align is not usable ({type(exc).__name__}: {exc})")
        return None
    try:
        from hwocr.dataset import crop_gray
    except Exception:  # noqa: BLE001 - fall back to a plain crop
        crop_gray = None
    from hwocr.errors import HwocrError
    from hwocr.glyph import prepare_glyph

    csv_path = data_dir / "names" / "names.csv"
    if not csv_path.is_file():
        print(f"names crops: skipped, {csv_path} not found")
        return None
    with csv_path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if limit:
        rows = rows[:limit]
    statuses: dict[str, int] = {}
    gray_glyphs, ink_glyphs, truth = [], [], []
    skipped_crops = 0
    t0 = time.perf_counter()
    for row in rows:
        text = (row.get("transcription") or "").strip()
        if not text:
            continue
        try:
            analysis = analyze_name(data_dir / "names" / row["image_url"], text)
        except HwocrError:
            statuses["unreadable"] = statuses.get("unreadable", 0) + 1
            continue
        except Exception as exc:  # noqa: BLE001 - a bug there must not sink the whole benchmark
            print(f"names crops: skipped, analyze_name failed ({type(exc).__name__}: {exc})")
            return None
        al = analysis.alignment
        statuses[al.status] = statuses.get(al.status, 0) + 1
        if al.status != "matched":
            continue
        gray = analysis.cleaned.gray
        ink = 255 - analysis.cleaned.ink  # the kept handwriting only, dark on white
        for letter, box in zip(al.letters, al.boxes):
            if letter not in LETTERS:
                continue
            try:
                if crop_gray is not None:
                    g, k = crop_gray(gray, box), crop_gray(ink, box)
                else:
                    g = gray[box.y0 : box.y1, box.x0 : box.x1]
                    k = ink[box.y0 : box.y1, box.x0 : box.x1]
                gg, kk = prepare_glyph(g), prepare_glyph(k)
            except HwocrError:
                skipped_crops += 1
                continue
            gray_glyphs.append(gg)
            ink_glyphs.append(kk)
            truth.append(letter)
    seconds = time.perf_counter() - t0
    if not truth:
        print("names crops: skipped, no matched name gave a letter crop")
        return None
    truth = np.array(truth)
    result = {"names": len(rows), "statuses": statuses, "crops": len(truth), "skipped_crops": skipped_crops,
              "seconds": round(seconds, 1)}
    for kind, glyphs in (("gray", gray_glyphs), ("ink", ink_glyphs)):
        preds = rec.classify_glyphs(np.stack(glyphs), charset="letters")
        labels = np.array([p.label for p in preds])
        ok = labels == truth
        result[f"accuracy_{kind}"] = float(ok.mean())
        per_letter = {c: float(ok[truth == c].mean()) for c in LETTERS if (truth == c).sum() >= 10}
        result[f"worst_{kind}"] = sorted(per_letter.items(), key=lambda kv: kv[1])[:6]
        confusions: dict[str, int] = {}
        for t, p in zip(truth[~ok], labels[~ok]):
            confusions[f"{t}->{p}"] = confusions.get(f"{t}->{p}", 0) + 1
        result[f"top_confusions_{kind}"] = sorted(confusions.items(), key=lambda kv: -kv[1])[:8]
    return result


def latency(rec, images: list, runs: int) -> dict:
    from hwocr.glyph import prepare_batch
    from hwocr.model import FastPredictor

    glyphs = prepare_batch(images)
    predictor = rec.bundle.predictor
    model = rec.bundle.model
    graph = FastPredictor(model)  # the tf.function path, without the bundle's model.tflite
    for _ in range(5):  # warm-up: trace, oneDNN primitive creation
        predictor(glyphs)
        graph(glyphs)
        rec.classify(images)
        model.predict(glyphs, verbose=0)

    def timed(fn, n):
        out = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000.0)
        return {"median_ms": round(statistics.median(out), 3), "p90_ms": round(percentile(out, 90), 3), "runs": n}

    return {
        "fast_model_only": timed(lambda: predictor(glyphs), runs),
        "tf_function_model_only": timed(lambda: graph(glyphs), runs),
        "classify_end_to_end": timed(lambda: rec.classify(images), runs),
        "model_predict_baseline": timed(lambda: model.predict(glyphs, verbose=0), max(20, runs // 10)),
    }


#: Shapes a digit and a letter share: read alone, no model can tell them apart, so the
#: anatomy counts the case-folded errors between them separately.
DIGIT_LETTER_SHAPES = ({"0", "O"}, {"1", "I", "L"})


def _pairs(truth: np.ndarray, pred: np.ndarray, top: int = 8) -> list[str]:
    wrong = truth != pred
    pairs, counts = np.unique(np.char.add(np.char.add(truth[wrong], ">"), pred[wrong]), return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    return [f"{pairs[i]} {counts[i]}" for i in order]


def error_anatomy(data, sets: dict, probs: dict, labels) -> dict:
    """Where the errors of the 62-class figures come from (see the module's docstring):
    counts, shares and the accuracy left when the glyphs no model could read alone are
    set aside. Empty for a model without small letters."""
    names = np.asarray(labels)
    out: dict = {}
    lower = data.stroke_sets().get("lower")
    if lower is not None and "unipen_lower_val" in probs and any(c in LOWER for c in labels):
        among = [i for i, c in enumerate(labels) if c in LOWER]
        truth = np.asarray(sets["unipen_lower_val"][1])
        pred = names[among][probs["unipen_lower_val"][:, among].argmax(axis=1)]
        strokes = lower.strokes
        undotted_i_j = np.array([strokes.labels[i] in ("i", "j") and len(strokes.strokes[i]) == 1
                                 for i in lower.val])
        pen_up = np.array([str(strokes.writers[i]).split(":", 1)[0] in PEN_UP_SOURCES for i in lower.val])
        wrong = pred != truth
        rest = ~undotted_i_j & ~pen_up
        out["lower"] = {
            "n": len(truth), "errors": int(wrong.sum()), "accuracy": float((~wrong).mean()),
            "one_stroke_i_j": {"n": int(undotted_i_j.sum()), "errors": int((wrong & undotted_i_j).sum())},
            "pen_up_sources": {"n": int((pen_up & ~undotted_i_j).sum()),
                               "errors": int((wrong & pen_up & ~undotted_i_j).sum())},
            "rest": {"n": int(rest.sum()), "errors": int((wrong & rest).sum()),
                     "accuracy": float((~wrong[rest]).mean())},
            "dotted_i_j_accuracy": float((~wrong[np.isin(truth, ["i", "j"]) & ~undotted_i_j]).mean()),
            "one_stroke_i_j_accuracy": float((~wrong[undotted_i_j]).mean()) if undotted_i_j.any() else None,
            "top_confusions_rest": _pairs(truth[rest], pred[rest]),
        }
    parts = [n for n in ("unipen_val", "unipen_lower_val", "unipen_digits_val", "mnist_val") if n in probs]
    if parts and any(c in LOWER for c in labels):
        truth = np.concatenate([np.asarray(sets[n][1]) for n in parts])
        pred = names[np.concatenate([probs[n] for n in parts]).argmax(axis=1)]
        fold = np.vectorize(fold_case, otypes=[str])
        ft, fp = fold(truth), fold(pred)
        wrong = ft != fp
        shared = np.zeros(len(ft), bool)
        for group in DIGIT_LETTER_SHAPES:
            shared |= np.isin(ft, list(group)) & np.isin(fp, list(group))
        out["all62_case_folded"] = {
            "n": len(ft), "errors": int(wrong.sum()), "accuracy": float((~wrong).mean()),
            "digit_letter_shape_errors": int((wrong & shared).sum()),
            "accuracy_with_0_O_and_1_I_l_as_one": float(1 - (wrong & ~shared).sum() / len(ft)),
            "top_confusions": _pairs(ft, fp),
        }
    return out


def print_anatomy(anatomy: dict) -> None:
    low = anatomy.get("lower")
    if low:
        e = max(low["errors"], 1)
        print(
            f"small-letter errors: {low['errors']} of {low['n']} ({1 - low['accuracy']:.2%}); "
            f"one-stroke i/j (no dot) {low['one_stroke_i_j']['errors']} of {low['one_stroke_i_j']['n']} "
            f"({low['one_stroke_i_j']['errors'] / e:.0%} of the errors; dotted i/j read "
            f"{low['dotted_i_j_accuracy']:.1%}, one-stroke {low['one_stroke_i_j_accuracy'] or 0:.1%}); "
            f"pen-up sources {low['pen_up_sources']['errors']} of {low['pen_up_sources']['n']} "
            f"({low['pen_up_sources']['errors'] / e:.0%}); the rest {low['rest']['errors']} of {low['rest']['n']}: "
            f"{low['rest']['accuracy']:.2%} read right"
        )
        print(f"  top confusions of the rest: {', '.join(low['top_confusions_rest'])}")
    folded = anatomy.get("all62_case_folded")
    if folded:
        print(
            f"62 classes case-folded: {folded['errors']} errors of {folded['n']}; "
            f"{folded['digit_letter_shape_errors']} between 0/O or 1/I/l; counting those as one shape, "
            f"{folded['accuracy_with_0_O_and_1_I_l_as_one']:.2%}"
        )
        print(f"  top confusions: {', '.join(folded['top_confusions'])}")


def training_throughput(glyphs: np.ndarray, labels: np.ndarray, n: int, epochs: int) -> dict:
    from hwocr.train import train

    n = min(n, len(glyphs))
    pick = np.random.default_rng(0).permutation(len(glyphs))[:n]
    result = train(glyphs[pick], labels[pick], epochs=epochs, val_fraction=0.0, seed=0)
    return {"samples": n, "epochs": epochs, "samples_per_s": round(result.samples_per_s, 1),
            "seconds": round(result.train_time_s, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=shipped_models_dir() / "base")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--skip-names", action="store_true")
    parser.add_argument("--names-limit", type=int, default=None)
    parser.add_argument("--latency-runs", type=int, default=300)
    parser.add_argument("--train-samples", type=int, default=16000)
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    from hwocr.model import tf_modules
    from hwocr.recognize import Recognizer

    load_before = os.getloadavg()
    data_dir = shared_data_dir(args.data)
    report: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_average_at_start": [round(v, 2) for v in load_before],
        "model": str(args.model),
    }
    print(f"# character model benchmark, {report['date']}")
    print(f"machine: {report['machine']} (load average at start {report['load_average_at_start']})")

    t0 = time.perf_counter()
    data = load_base_data(data_dir)
    sets = validation_sets(data, workers=args.workers)
    print(f"validation sets prepared in {time.perf_counter() - t0:.0f} s")
    tf, keras = tf_modules()
    report["versions"] = {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()}
    rec = Recognizer.load(args.model)
    size = sum(p.stat().st_size for p in Path(args.model).iterdir() if p.is_file())
    report["model_bytes"] = size
    report["params"] = int(rec.bundle.model.count_params())
    print(f"model: {args.model} ({size / 1e6:.2f} MB, {report['params']:,} parameters, "
          f"trained {rec.metrics.get('date', '?')})")

    acc = {}
    for name, (glyphs, truth) in sets.items():
        charset = ("digits" if name in ("mnist_val", "unipen_digits_val") else
                   "lower" if name == "unipen_lower_val" else "letters")
        if charset == "lower" and not any(c.islower() for c in rec.labels):
            continue  # a 36-class model knows no small letters
        acc[name] = {"n": len(truth), "accuracy": accuracy(rec, glyphs, truth, charset)}
        if name == "unipen_val":
            acc[name]["accuracy_alnum"] = accuracy(rec, glyphs, truth, "alnum")
    report["accuracy"] = acc
    labels = {
        "unipen_val": "UNIPEN writer-disjoint val (plain rendering, letters)",
        "unipen_val_styled": "UNIPEN writer-disjoint val (random pens/paper, letters)",
        "unipen_val_npz": "UNIPEN writer-disjoint val (dataset's own 28x28 renders, letters)",
        "mnist_val": "MNIST held-out digits (digits)",
        "unipen_lower_val": "UNIPEN writer-disjoint small letters (lower)",
        "unipen_digits_val": "UNIPEN writer-disjoint digits (digits)",
    }
    for name, v in acc.items():
        extra = f"; alnum {v['accuracy_alnum']:.2%}" if "accuracy_alnum" in v else ""
        print(f"{labels.get(name, name)}: {v['accuracy']:.2%} of {v['n']}{extra}")

    # The figures over the 62 classes (hwocr.basemodel.score_sets, as the build
    # records them): each set among its own classes, and every glyph among all classes,
    # exact, case-folded and EMNIST-Balanced's 47 (the case of C I J K L M O P S U V W X Y Z merged).
    probs = {name: rec.bundle.predict_proba(glyphs) for name, (glyphs, _) in sets.items()}
    summary = score_sets(probs, {name: truth for name, (_, truth) in sets.items()}, rec.labels)["summary"]
    report["summary_62"] = summary
    print("62 classes: " + ", ".join(f"{k} {v:.2%}" for k, v in summary.items()))
    report["error_anatomy"] = error_anatomy(data, sets, probs, rec.labels)
    print_anatomy(report["error_anatomy"])

    if args.skip_names:
        print("names crops: skipped (--skip-names)")
        report["names_crops"] = None
    else:
        names = names_crops(rec, data_dir, args.names_limit)
        report["names_crops"] = names
        if names:
            print(
                f"names crops (matched names, letters): gray crop {names['accuracy_gray']:.2%}, cleaned-ink crop "
                f"{names['accuracy_ink']:.2%} of {names['crops']} letters from {names['statuses'].get('matched', 0)} "
                f"matched of {names['names']} names"
            )
            print(f"  worst letters (gray): {names['worst_gray']}")
            print(f"  top confusions (gray): {names['top_confusions_gray']}")

    _, val_truth = sets["unipen_val"]
    batch_idx = np.random.default_rng(1).choice(len(val_truth), 10, replace=False)
    strokes = [data.letters.strokes[data.letters_val[i]] for i in batch_idx]
    from hwocr.render import render_strokes

    images = [render_strokes(s, seed=int(i)) for s, i in zip(strokes, batch_idx)]
    lat = latency(rec, images, args.latency_runs)
    lat["backend"] = rec.bundle.predictor.backend
    report["latency_batch_of_10"] = lat
    print(
        f"batch of 10 characters ({lat['backend']} fast path): "
        "{0[median_ms]:.2f} ms median / {0[p90_ms]:.2f} ms p90 (model only); "
        "classify() with preprocessing {1[median_ms]:.2f} / {1[p90_ms]:.2f} ms; "
        "tf.function path {3[median_ms]:.2f} / {3[p90_ms]:.2f} ms; "
        "model.predict baseline {2[median_ms]:.1f} / {2[p90_ms]:.1f} ms".format(
            lat["fast_model_only"], lat["classify_end_to_end"], lat["model_predict_baseline"],
            lat["tf_function_model_only"],
        )
    )

    pool_x = np.concatenate([v[0] for v in sets.values()])
    pool_y = np.concatenate([v[1] for v in sets.values()])
    thr = training_throughput(pool_x, pool_y, args.train_samples, args.train_epochs)
    report["training"] = thr
    print(
        f"training throughput: {thr['samples_per_s']:.0f} samples/s with hwocr.train.train "
        f"({thr['samples']} glyphs x {thr['epochs']} epochs, batch {DEFAULTS.train_batch_size}, graph tracing included)"
    )
    m = rec.metrics
    if m.get("samples_per_s"):
        print(
            f"the model's own build: {m.get('samples_per_s'):.0f} samples/s, "
            f"training {m.get('training_time_s', 0) / 60:.1f} min, "
            f"{m.get('total_time_s', 0) / 60:.1f} min with rendering "
            f"(batch {m.get('batch_size', '?')}, {m.get('epochs')} epochs)"
        )
    report["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]

    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_bench.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out / 'model_bench.json'}")
    return 0


if __name__ == "__main__":
    from hwocr.errors import HwocrError

    try:
        sys.exit(main())
    except HwocrError as exc:
        print(f"model_bench: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
