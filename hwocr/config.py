"""The one table of defaults that the CLI, the pages and the library all read.

Change a number here and every entry point follows; nothing else in hwocr hard-codes
these values.
"""

from __future__ import annotations

import os
import string
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Environment variable that points hwocr at another workspace.
WORKSPACE_ENV = "HWOCR_WORKSPACE"
#: Environment variable that allows downloads from private and loopback addresses.
ALLOW_PRIVATE_ENV = "HWOCR_ALLOW_PRIVATE_URLS"

LETTERS = tuple(string.ascii_uppercase)
DIGITS = tuple(string.digits)
LOWER = tuple(string.ascii_lowercase)
#: Capitals and digits: the classes of the models made before lower case (36).
ALNUM = LETTERS + DIGITS
#: Class order of the model's output layer (62 classes; a model from before lower case
#: has the first 36); labels.json of every model repeats it.
ALL_CLASSES = ALNUM + LOWER
#: What a reading may answer (hwocr.charsets): ``letters`` is the default for names,
#: ``cased`` and ``all`` keep the case that was written.
CHARSETS: dict[str, tuple[str, ...]] = {
    "letters": LETTERS,
    "digits": DIGITS,
    "alnum": ALNUM,
    "lower": LOWER,
    "cased": LETTERS + LOWER,
    "all": ALL_CLASSES,
}

#: Characters of a transcription that are not drawn as a letter but mark a gap.
SEPARATORS = frozenset(" -'")
#: Marks the reason of a name that the character model placed (hwocr.align's guided
#: repair; the review pages and the audit trail show it; tests and benchmarks count on it).
GUIDED_MARK = "classifier-guided"


@dataclass(frozen=True)
class Defaults:
    # --- images -------------------------------------------------------------------
    #: Largest image we decode, in pixels; anything bigger is refused as a bomb.
    max_image_pixels: int = 40_000_000
    #: Largest image file we read or download, in bytes.
    max_image_bytes: int = 20 * 1024 * 1024
    #: Largest CSV we import, in bytes.
    max_csv_bytes: int = 512 * 1024 * 1024
    #: Largest single CSV field, in characters (pathological files get a clear error).
    max_csv_field: int = 64 * 1024

    #: An image imported from a local folder is hard-linked into the workspace where the
    #: file system allows (no second copy on disk; a new file costs several times a link
    #: on this project's test machine), else copied. hwocr never writes into a stored
    #: image, but a program that rewrites the original in place would change the
    #: workspace's image too: ``import --copy-images`` (or False here) always copies.
    link_local_images: bool = True

    # --- downloads ----------------------------------------------------------------
    #: Downloads in flight at once (``import --connections``). Each waits on the
    #: server's latency, not on this machine: at 60 ms an answer, 16 give about 250
    #: images/s, and a server that allows more can be asked with more.
    download_concurrency: int = 16
    #: The most ``import --connections`` accepts.
    download_concurrency_max: int = 256
    download_connect_timeout_s: float = 10.0
    download_read_timeout_s: float = 30.0
    download_retries: int = 3
    download_backoff_s: float = 0.5
    max_redirects: int = 5
    #: Wall-clock limit of one download attempt (guards against a server that drips bytes).
    download_total_timeout_s: float = 120.0
    #: Longest pause between two attempts, whatever the backoff or Retry-After says.
    download_max_backoff_s: float = 30.0
    #: Longest Retry-After we honour; a server asking for more gets this.
    download_max_retry_after_s: float = 60.0

    # --- uploaded zips of images ----------------------------------------------------
    #: Largest total uncompressed size of a zip of images.
    max_zip_total_bytes: int = 4 * 1024 * 1024 * 1024
    #: Largest number of entries in a zip of images.
    max_zip_entries: int = 1_000_000
    #: Largest uncompressed/compressed ratio of an entry bigger than max_zip_ratio_floor.
    max_zip_ratio: float = 100.0
    #: Entries smaller than this are never refused for their ratio (tiny blank BMPs).
    max_zip_ratio_floor: int = 1024 * 1024

    # --- preprocessing (hwocr.preprocess) -------------------------------------------
    #: An image with more connected marks than this is not a name (a name has < 60).
    max_components: int = 500
    #: Least darkness below the paper (0-255) that can be ink at all.
    ink_min_contrast: int = 40
    #: Fainter pixels (this fraction of the ink threshold) count when they touch sure ink.
    ink_weak_fraction: float = 0.5
    #: A horizontal run at least this fraction of the image width is a form line.
    line_min_width_fraction: float = 0.3
    #: A colon dot is at most this many pen widths on a side.
    colon_max_dot_size: float = 3.0
    #: ... and at most this much longer one way than the other.
    colon_max_dot_aspect: float = 2.0
    #: The printed label's colon lies in this left fraction of the image.
    label_max_x_fraction: float = 0.45
    #: A label's printed text is at most this many times as wide as it is tall
    #: ("PRENOM :"); longer captions ("CODE RNE / UAI :") introduce something else.
    label_max_word_heights: float = 8.0
    #: Rows with less ink than this fraction of the fullest row separate two bands.
    band_valley_fraction: float = 0.06
    #: Printed text: median gap between letters at most this fraction of its height ...
    printed_max_gap: float = 0.2
    #: ... and ink filling at least this share of its height in the columns it covers.
    printed_min_density: float = 0.4
    #: Weight of a band that looks printed (a heading or a caption, not the name).
    band_printed_penalty: float = 0.25
    #: Weight of a band that starts with the name's printed label.
    band_label_boost: float = 4.0
    #: Spread (fraction of the height) of the preference for a band near the middle.
    band_centre_sigma: float = 0.3
    #: Weight of a band cut by the top or bottom edge (a fragment of a neighbouring row).
    band_edge_penalty: float = 0.3
    #: A vertical form line is at least this fraction of the handwriting band tall ...
    vline_min_band: float = 0.7
    #: ... at most this many pen widths wide ...
    vline_max_width_strokes: float = 1.6
    #: ... straight (ink fills this much of its box) ...
    vline_min_fill: float = 0.6
    #: ... and stands this many band heights apart from the name, at either end.
    vline_min_gap_band: float = 1.5
    #: A dot or accent above the band is at most this fraction of the band height tall
    #: and lies at most this far above it.
    accent_max_band: float = 0.35
    #: Ink cut by the image edge that reaches no further than this fraction of the
    #: typical letter's height past its top (or bottom) belongs to a neighbouring row ...
    core_margin: float = 0.1
    #: ... and so does ink lying this fraction of the letter height clear of the letters.
    core_gap: float = 0.25
    #: Components of at most this many pixels may be specks.
    speck_max_area: int = 6
    #: ... or of at most this many squared pen widths.
    speck_max_area_strokes: float = 1.5
    #: ... and at most this fraction of the band height on a side.
    speck_max_side_band: float = 0.25
    #: A short mark (at most this fraction of the band height) standing apart at either
    #: end of the name is a blot, not a letter.
    blot_max_band: float = 0.45
    #: A speck farther than this fraction of the band height from any stroke is removed.
    speck_reach_band: float = 0.5

    # --- segmentation and alignment -------------------------------------------------
    #: Empty columns needed between two pieces; a narrower crack in a stroke is bridged.
    segment_min_gap: int = 1
    #: A column with at most this many ink pixels counts as empty.
    segment_empty_max: int = 0
    #: Pieces with less ink than this are dropped by the segmenter.
    segment_min_piece_pixels: int = 1
    #: Names with more letters than this are not aligned (a sentence, not a name).
    align_max_letters: int = 40
    #: ... nor images cut into more pieces than this ...
    align_max_pieces: int = 150
    #: ... nor with more candidate letter boundaries than this (memory: letters x this^2).
    align_max_boundaries: int = 250
    #: A drawn hyphen is a flat piece at most this fraction of the writing's height.
    dash_max_height: float = 0.35
    #: ... and at least this fraction of it wide.
    dash_min_width: float = 0.3
    #: Cuts inside a piece leave at least this fraction of a letter width on each side.
    align_min_part_width: float = 0.3
    #: Merging across a gap costs 1 per this fraction of a letter width of gap.
    align_gap_scale: float = 0.15
    #: A piece with less ink than this fraction of the typical piece, shorter than
    #: align_fragment_height of the writing or narrower than align_min_part_width letters
    #: is a fragment ...
    align_fragment_ink: float = 0.35
    #: ... and merging it with a neighbour costs 1 per this fraction of a letter of gap.
    align_fragment_gap_scale: float = 0.45
    #: Only pieces at least this many letters wide are cut (when letters outnumber pieces) ...
    align_cut_min_width: float = 1.2
    #: ... or this many when there are pieces enough (a cut then pairs with a merge).
    align_cut_min_width_surplus: float = 1.6
    #: Cuts tried per piece, per letter it is wide: its deepest valleys.
    align_max_cuts_per_piece: int = 3
    #: Price of cutting a piece in two (touching letters are rarer than spaced ones) ...
    align_cut_base: float = 2.0
    #: ... plus this per stroke the cut goes through.
    align_cut_per_stroke: float = 1.0
    #: Letters shorter than this fraction of the writing's height are penalised.
    align_min_height: float = 0.5
    #: A letter holds at least about this many half-height strokes of ink.
    align_min_letter_strokes: float = 1.0
    #: One piece per letter is taken without the dynamic programme when no letter's
    #: width or height costs more than this.
    align_identity_max_cost: float = 2.5
    #: ... and its confidence drops by this per unit of its worst letter's cost.
    align_identity_slope: float = 0.15
    #: A letter costing more than this (far too small, far too thin) is not trusted.
    align_letter_max_cost: float = 8.0
    #: Spread of a writer's letter widths (log scale) on top of each letter's own.
    align_width_spread: float = 0.15
    #: Letters wider than this times their height cost extra (two letters in one box).
    align_max_aspect: float = 1.3
    #: The programme runs again at the scale its answer implies when that differs by
    #: more than this (log).
    align_rescale_above: float = 0.15
    #: Extra cost when a space or hyphen of the transcription falls on a cut or narrow gap.
    align_separator_cost: float = 2.0
    #: Per-letter cost that is normal and does not lower the confidence.
    align_free_cost: float = 1.0
    #: Confidence falls by exp(-this * excess cost) of the worst letter ...
    align_conf_per_cost: float = 0.5
    #: ... and by exp(-this * mean excess cost) of all letters.
    align_conf_per_total: float = 0.5
    #: One piece per letter that beats every repair by a cost margin m has confidence
    #: 1 - exp(-m / this).
    align_margin_scale: float = 3.1
    #: Repairs less sure than this go to a person as needs_review.
    align_review_below: float = 0.3
    #: A stroke with at least this share of its pixels in one letter's columns goes to
    #: that letter whole.
    align_component_share: float = 0.75
    #: Names whose repair confidence reaches this are harvested without a person.
    harvest_min_confidence: float = 0.75

    # --- character model ------------------------------------------------------------
    #: Side of the square the character model sees.
    model_input_size: int = 32
    #: Side of the box the ink is fitted into, centred inside the model input.
    model_ink_box: int = 24
    #: Side of the crops exported in the Kaggle A–Z CSV layout.
    export_size: int = 28
    #: Side of the box the ink is fitted into inside an export crop (MNIST's 20-in-28).
    export_ink_box: int = 20
    #: Images are shrunk to this long side before the ink is looked for: plenty for a
    #: 24 px glyph, and it bounds the cost of huge photos.
    glyph_work_side: int = 256
    #: Weakest ink that counts, in gray levels above the local paper; below it an
    #: image is blank.
    glyph_min_contrast: int = 28
    #: Ink specks smaller than this fraction of the largest ink blob are dropped.
    glyph_min_blob_frac: float = 0.03
    #: Stroke width is clamped into this range, as fractions of the ink box, so thin
    #: pen strokes and fat canvas strokes look alike to the model.
    glyph_stroke_min_frac: float = 0.08
    glyph_stroke_max_frac: float = 0.14
    #: How many runner-up labels a prediction carries.
    recognize_top_k: int = 5
    #: Fraction of the class-folder images held out to validate a trained model.
    train_val_fraction: float = 0.15
    #: Adam learning rate for training from scratch, and for fine-tuning.
    train_learning_rate: float = 2e-3
    train_finetune_learning_rate: float = 5e-4
    #: Fine-tuning mixes in this many rehearsal glyphs per training crop, balanced over
    #: the model's classes (hwocr.rehearsal).
    train_rehearsal_ratio: float = 1.0
    #: The Train page warns when a new version reads the base model's held-out letters or
    #: digits this much worse (0.02 = 2 points) than the model it was compared with.
    train_base_check_warn_drop: float = 0.02
    #: How many of the validation split's names both versions read before a new version
    #: is activated by itself (0: skip the check). About 20 ms per name and version.
    train_names_check_limit: int = 300
    #: ... and the new version counts as reading them worse only when its share of right
    #: characters is this much lower (0.005 = half a point, one letter in 200: a few dozen
    #: validation names differ by one letter from run to run).
    train_names_check_tolerance: float = 0.005

    #: Paper kept around a character's box when its crop is written.
    crop_margin: int = 2
    #: zlib level of the PNG files harvest writes (0-9). 0 stores the pixels unpacked:
    #: a crop is about 250 pixels, so the file is a few dozen bytes larger (and takes
    #: the same 4 KiB block on disk), while deflate's set-up costs more than the pixels
    #: themselves: 15 us a crop at 0 against 40 at 1 (2026-12-06, cv2.imencode timed on
    #: 3,000 harvested crops; harvest's own figures: docs/BENCHMARKS.md).
    crop_png_compression: int = 0

    # --- cutting drawings and images into characters (hwocr.cut) ---------------------
    #: Components with fewer pixels than this, or than this fraction of the biggest
    #: component, are specks.
    cut_speck_pixels: int = 3
    cut_speck_fraction: float = 0.01
    #: Components at least this fraction of the typical stroke height start text lines.
    cut_tall_fraction: float = 0.5
    #: Shorter than this fraction of the line's height: a dot, accent or bar, which
    #: joins the stroke it lies over or beside.
    cut_mark_fraction: float = 0.45
    #: ... when it overlaps that stroke for this share of the narrower one's width ...
    cut_attach_overlap: float = 0.5
    #: ... or a dot lies within this fraction of the line height of it ...
    cut_mark_reach: float = 0.25
    #: ... or a bar within this fraction (the detached bars of an E or F).
    cut_bar_reach: float = 0.2
    #: Marks that join no stroke are a character of their own when at least this
    #: fraction of the line height on a side (smaller ones are specks).
    cut_small_char: float = 0.3
    #: Parts overlapping for this share of the narrower one's width are one character.
    cut_merge_overlap: float = 0.5

    # --- segmentation / alignment rules (issue 13) ---------------------------------------
    # Numbers the cleaning and alignment kernels used to hold as literals.
    #: Cleaning (hwocr.preprocess_kernels): a colon's two dots lie at most this many dot
    #: sizes (plus a pixel) apart ...
    colon_max_gap_dots: float = 2.5
    #: ... and the last letter of its label is between these many dot sizes tall (the
    #: maximum plus a pixel).
    label_letter_min_dots: float = 2.5
    label_letter_max_dots: float = 6.0
    #: Components of at least this many squared pen widths vote for the handwriting band ...
    band_voter_min_area_strokes: float = 2.0
    #: ... only those clear of the top and bottom edges, when those hold this share of the
    #: voters' ink.
    band_inner_min_share: float = 0.3
    #: A dot or accent above the band is at most this fraction of the band height wide.
    accent_max_width_band: float = 0.4
    #: Above the typical letter, an accent is at most accent_max_band times this of the
    #: letter's height tall ...
    accent_core_scale: float = 1.5
    #: ... and at most this fraction of the letter's height wide.
    accent_max_width_core: float = 0.6
    #: Sideways, a speck's stroke must lie within this share of speck_reach_band's reach.
    speck_reach_x_share: float = 0.25
    #: Alignment (hwocr.align_kernels): a drawn hyphen is at most this many writing heights
    #: wide ...
    dash_max_width: float = 1.5
    #: ... and its centre lies at least this fraction of the writing's height below its
    #: top and this fraction above its bottom.
    dash_centre_below_top: float = 0.2
    dash_centre_above_bottom: float = 0.1
    #: A letter shorter than align_min_height costs ((log of the shortfall) / this)² / 2 ...
    align_height_spread: float = 0.25
    #: ... one wider than align_max_aspect ((log of the excess) / this)² / 2, its height
    #: taken as at least align_aspect_min_height of the writing's.
    align_aspect_spread: float = 0.25
    align_aspect_min_height: float = 0.5
    #: Extra cost of a letter holding less ink than align_min_letter_strokes.
    align_little_ink_cost: float = 4.0
    #: A gap narrower than this many letter widths is narrow: a space or hyphen of the
    #: transcription there costs this share of align_separator_cost.
    align_narrow_gap: float = 0.25
    align_narrow_gap_cost: float = 0.5
    #: A piece shorter than this fraction of the writing's height is a fragment (see
    #: align_fragment_ink).
    align_fragment_height: float = 0.5
    #: One piece per letter with a letter costing more than align_letter_max_cost is at
    #: most this sure.
    align_odd_piece_max_confidence: float = 0.5

    # --- reading (hwocr.read) ------------------------------------------------------------
    #: A candidate character is at most this many consecutive atoms ...
    read_max_atoms: int = 5
    #: ... at most this many letter widths (the writer's scale) and line heights wide
    #: (two separate letters side by side are about 2.1 letter widths) ...
    read_max_width_letters: float = 1.8
    read_max_width: float = 2.0
    #: ... and merges no gap wider than this fraction of the line height.
    read_max_gap: float = 0.6
    #: Parts wider than this many letter widths are tried cut at their valleys ...
    read_cut_wide: float = 1.2
    #: ... (when the letters are known and may outnumber the parts: this many).
    read_cut_wide_forced: float = 0.9
    #: ... at most this many valleys per part, each at least read_min_part letters from
    #: the part's ends and read_cut_spacing letters from another valley.
    read_max_cuts: int = 8
    read_min_part: float = 0.25
    read_cut_spacing: float = 0.2
    #: Price of cutting through ink, plus this per stroke the cut crosses.
    read_cut_base: float = 1.0
    read_cut_per_stroke: float = 0.5
    #: Merging a gap inside a character costs 1 per this fraction of a letter width.
    read_gap_scale: float = 0.15
    #: Probabilities are floored here before their log is taken.
    read_min_probability: float = 1e-3
    #: Weights of the classifier's log probability and of the letter-width prior.
    read_class_weight: float = 1.0
    read_width_weight: float = 1.0
    #: Added per character read (positive: more, smaller characters).
    read_letter_bonus: float = 0.0
    #: A second look (hwocr.lattice.look_again): every character of the first reading
    #: that the classifier reads below read_view_below is classified again turned by
    #: +/- read_view_degrees, and its probabilities become the mean of the three views
    #: (0 degrees: no second look). Tuned on the tune half of the dev names with the
    #: shipped names model (BENCHMARKS.md, "A second look"): 381 of 474 names exact
    #: without; 4 / 6 / 9 degrees 386 / 386 / 385; below 0.99 / 0.999 / 0.9999 / 1
    #: (every character) 384 / 386 / 386 / 386, 0.999 asking the fewest of the best.
    read_view_degrees: float = 6.0
    read_view_below: float = 0.999
    #: Atoms shorter than this fraction of the line may be left out, at this price.
    read_skip_height: float = 0.5
    read_skip_cost: float = 3.0
    #: A gap this many letter widths wide (and twice the usual gap) is a word space.
    read_space_gap: float = 0.75
    #: Case from geometry (hwocr.context): a same-shape letter (c/C, o/O …) is a capital
    #: when it rises above the baseline more than this geometric blend of the line's
    #: x-height and cap height (0.5: their geometric mean) ...
    read_case_blend: float = 0.5
    #: ... or, with only small letters to go by, more than this many x-heights ...
    read_case_over_x_height: float = 1.3
    #: ... or, with only capitals, more than this share of the cap height.
    read_case_of_cap_height: float = 0.75
    #: A p or y whose ink reaches below the line's baseline by more than this fraction of
    #: its own height is small (its small form hangs below the line), else a capital;
    #: in a line of same-shape letters only, its case is the line's.
    read_case_descent: float = 0.2
    #: Mixed letters and digits: the price (nats) of switching between a run of letters
    #: and a run of digits inside a word; a prior, not a rule: below ``read_kind_sure``
    #: a digit stays a digit between two letters only when the model is e^(2 x this)
    #: times surer of it than of any letter (aussi read au55i, its 5s at 0.78, becomes
    #: aussi), and a character the model reads at ``read_kind_sure`` or more keeps its
    #: kind (R2D2 drawn on the canvas, tests/e2e: its first 2 reads 2 at 0.89, Z at 0.11;
    #: at 2.0 without that rule it would turn into a Z).
    #: Chosen on bench/drawn_words.py --seed 1 with the reader of 2026-12-06 (words exact,
    #: all 301; before: 1.0 and no sure rule, 61.1%): without the rule 1.5 62.1%, 2.0
    #: 62.5%, 3.0 61.5%; with it at 0.95: 2.0 62.8%; at 0.8, 0.85 or 0.9: 1.5 61.8%,
    #: **2.0 62.5%**, 3.0 62.8%. 0.85 is the highest that keeps the drawn R2D2, 2.0 the
    #: lower of two prices within a word of each other. Reported on seed 0: 60.5% -> 62.1%.
    read_kind_switch_cost: float = 2.0
    read_kind_sure: float = 0.85
    #: Lexicon: entries shortlisted by weighted edit distance; the price of a letter
    #: too many or too few there ...
    read_lexicon_shortlist: int = 8
    read_lexicon_indel: float = 4.0
    #: ... and the best entry is taken when it explains the image at most this much
    #: worse than the free reading, plus this much per letter.
    read_snap_cost: float = 2.0
    read_snap_cost_per_letter: float = 1.0

    # names language model (issue 14)
    #: Under the letters charset every reading adds this many times the names model's
    #: log probability of each letter (hwocr.namelm) to the reader's score. Tuned on the
    #: tune half of the dev names (bench/tune_name_lm.py; BENCHMARKS.md).
    read_lm_weight: float = 0.7
    #: A character the classifier reads at this probability or more keeps its letter and
    #: its box: the model only weighs in where the classifier hesitates. With the second
    #: look on, "reads at" means the mean of its three views: a letter one view puts at
    #: 0.96 and the turned views doubt is not a clear letter (tune half: 8 names made
    #: right, 2 wrong by that reading; clear-but-wrong letters 2.5% -> 1.9%).
    read_lm_sure: float = 0.95
    #: Letters the model weighs on one candidate character: at most this many, each at
    #: most read_lm_margin (score units, about nats) below the best one ...
    read_lm_candidates: int = 5
    read_lm_margin: float = 8.0
    #: ... and readings kept at each boundary of the lattice (by their last letters).
    read_lm_beam: int = 8
    #: Each transcription of the workspace counts this many times the shipped list's names.
    read_lm_workspace_weight: float = 2.0
    #: Under charsets with small letters (lower, cased, all) the words model
    #: (models/words_lm.json.gz, hwocr.namelm) weighs in the same way, this many times
    #: its log probability; same sure-letter rule. Tuned on the drawn words of seed 1
    #: (bench/drawn_words.py), reported on seed 0 (BENCHMARKS.md).
    read_words_lm_weight: float = 0.4
    #: Under those charsets the letter-width prior (measured on names' capitals) weighs
    #: this much instead of read_width_weight, and merging a gap inside a character costs
    #: 1 per this fraction of a letter width instead of read_gap_scale. Drawn words of
    #: seed 1, with a words model that holds none of the benchmark's words: exact words
    #: 43.9% -> 48.8% (width 0 alone: 47.5%); seed 0 in BENCHMARKS.md.
    read_words_width_weight: float = 0.0
    read_words_gap_scale: float = 0.1
    #: ... and a candidate character may be this many first-guess letter widths wide
    #: (read_max_width_letters for names): the guess, made on small letters, is narrower
    #: than a W or an M (drawn words of seed 1: 50.2% -> 55.5% exact; 2.6: 55.1%).
    read_words_max_width_letters: float = 2.2

    # form detection (issue 14)
    # Reading without --clean/--no-clean decides from the image whether it is a name cut
    # from a form (hwocr.formdetect), and cleans it first when it is.
    #: A scanned form is written with a thin pen: strokes wider than this many pixels
    #: are a drawing (the canvas pen is 4-30 px; the pens of the tune half's names 1.1-3.1 px).
    form_max_pen_width: float = 4.0
    #: A form field is a strip at least this many times as wide as it is tall (the tune
    #: half's names: 3.9 and up; the Recognize canvas: 3.2) ...
    form_min_aspect: float = 3.5
    #: ... and an image of another shape is a form only when it holds the printed
    #: label, looked for on the image padded with paper to this many heights wide.
    form_label_pad_aspect: float = 6.0
    #: A horizontal line is a form line when it runs across this share of the width.
    form_min_line_fraction: float = 0.5
    #: A cleaned name whose ink touches both the top and the bottom edge, with at least
    #: this share of it in components that touch one of them, is a strip cut through
    #: the letters: no handwriting to read. Tuned on the dev split's tune half: its
    #: tightest real crop reaches 0.83; 14 px strips through the letters: 87% reach 0.87.
    form_sliced_share: float = 0.87
    #: A label scanned on its own is often too small for the cleaning to find (a 70x22 px
    #: crop of "PRENOM :" has no name after it to tell it from one): a thin-pen reading
    #: within ``form_label_max_edits`` edits of one of these words (the colon read as an
    #: I or not) is the label, not a name. Only the long label: "NOM" is a few edits
    #: from real names (NOA, TOM). Tune half: label crops read as nothing 81% -> 91%;
    #: 2 edits would also silence FRENOT, a real tune-half name; at 1 no dev name is.
    form_label_words: tuple[str, ...] = ("PRENOM",)
    form_label_max_edits: int = 1
    #: ... also when the line holds up to this many other letters, and every other line
    #: no more (the colon, the frame's edge or the row above read as letters: FIRENOMI,
    #: VO / PRENOM / R). Tune half, label crops read as nothing: 91% -> 97% (held_out
    #: 88% -> 96%, bench/bad_input_bench.py); no dev name's own reading is silenced.
    form_label_extra_letters: int = 2

    # --- classifier-guided repair of names at segmentation (hwocr.align) ------------------
    #: Names the geometric aligner sends to review, or repairs with a confidence below
    #: harvest_min_confidence, get the transcription forced onto the image with the
    #: character model as the judge (hwocr.align_guided) ...
    guided_repair: bool = True
    #: ... which is taken when the model gives every letter at least this probability
    #: in its box ...
    guided_min_probability: float = 0.5
    #: ... and the transcription explains the image at most this much worse than the
    #: model's own free reading (score units of the reader, about nats).
    guided_max_gap: float = 2.0
    #: Guided repair's lattice glyphs are first compiled copies (hwocr.lattice.
    #: compiled_segment_glyphs: render_glyph's stroke work at this multiple of the model's
    #: input instead of 4, all segments of a name in one call, about a fifth of the exact
    #: glyph's cost); the segments its forced and free paths read are then made exactly
    #: and the paths found again (hwocr.align_guided), so boxes, probabilities and gap
    #: are the exact lattice's wherever it takes the same paths. 0: every glyph exact, as
    #: reading makes them. Tuned 2026-12-05 on the tune half of the dev names, checked on
    #: held_out (bench/guided_glyphs.py --vet): at 1.5 every name's status, confidence,
    #: reason and boxes are the exact path's (tune 477 of 477, held_out 523 of 523), with
    #: a quarter of the segments made exactly; at 2 one tune name's reason differs; at 1
    #: the copy leaves over half the segments to the exact path. Without the exact pass,
    #: 1.5 moved 11 names' confidences and dropped one below the harvest threshold.
    guided_glyph_resolution: float = 1.5

    # --- model-vetted harvest (issue 14) ---------------------------------------------------
    #: Before the crops of an auto-accepted name reach the class folders, the active model
    #: reads each one (hwocr.vet, batched per chunk of names at segmentation); a name goes
    #: to the review queue instead when the model strongly disputes one of its crops:
    #: ``segment --no-vet`` (or False here) leaves auto-accepted names as they are.
    vet_harvest: bool = True
    #: A repair below ``harvest_min_confidence`` is vetted too, and harvested when the
    #: model disputes none of its crops (hwocr.pipeline.vet_results). On the dev names'
    #: tune half: 8 such names, the 5 vetting let through all cut right by eye; of the 3
    #: it disputed, one cut wrong (a B box holding part of the O), two with a letter the
    #: model reads as another.
    vet_confirms_repairs: bool = True
    #: Disputed means: the crop's own label has probability below this ...
    vet_max_label_probability: float = 0.02
    #: ... and another letter at least this (letters among capitals; digits too when the
    #: name has any). Calibrated on the tune half of the dev names (bench/vet_bench.py
    #: calibrate, docs/BENCHMARKS.md): 0.02 / 0.9 flags 22 of 444 auto-accepted names, 81%
    #: of the flagged crops truly wrong by eye; 0.05 / 0.8 flags 27 at 69%, 0.01 / 0.9 21 at 80%.
    vet_min_other_probability: float = 0.9
    #: Pairs of letters the model confuses on real, correctly cut handwriting far more
    #: often than an aligner files one under the other (looked at on the dev names' tune
    #: half: an open O read as C, a U as V, an E as F, a tall l as I ...): a reading
    #: that swaps one for the other (either way) is no dispute. MH (eighth session): the
    #: school-form M drawn as an H with a small notch; of the 6 tune-half names disputed
    #: as "H, not M", 5 were such Ms (MARIE, MARVIN, MEROISE, ...), one an H under a
    #: mistyped transcription (GUILMEM for GUILHEM).
    vet_confusable_pairs: tuple[str, ...] = ("OC", "OQ", "OD", "LI", "IJ", "EF", "EC", "EG", "UV", "AQ", "IP",
                                             "TE", "DA", "EZ", "AZ", "XI", "LZ", "AW", "BD", "MH")
    #: A letter written with a diacritic that the transcription drops, read by the model
    #: as the letter it then looks like (label, then reading; one way only): a C with a
    #: cedilla (FAYÇAL, FRANÇOIS) read as G, an I with a diaeresis (LOÏC, MAÏSSANE) read
    #: as Y. The model learnt its letters from UNIPEN, which has no diacritics; French
    #: names are full of them. Tenth session, on the dev names' tune half: of the 18
    #: names vetting sent to review, FAYCAL (its Ç read as G) and LOIC (its Ï read as Y)
    #: were held up by nothing else, both cut right.
    vet_diacritic_readings: tuple[str, ...] = ("CG", "IY")
    #: Vetting in two stages (hwocr.vet.vet_screened): the model first reads a cheap copy
    #: of every crop's glyph (hwocr.vet_kernels: render_glyph's steps at
    #: ``vet_screen_resolution`` times the output resolution instead of 4, compiled, all
    #: crops of a chunk in one call: about a quarter of the exact glyph's cost); only a crop
    #: whose copy is doubtful is made and read exactly, and only the exact reading can
    #: dispute a crop. False: every crop is made and read exactly.
    vet_screen: bool = True
    #: The stroke work of the cheap copy at this multiple of the model's input (render_glyph
    #: uses 4); at 1.5 the copy's best letter is the exact glyph's on 97.5% of the crops of
    #: the dev names' auto-accepted names, at 2 on 98%, at twice the cost.
    vet_screen_resolution: float = 1.5
    #: A crop is doubtful (read exactly) when the model gives its own label less than this
    #: on the cheap copy, or no copy could be made. Tuned on the tune half of the dev names
    #: (bench/vet_screen.py, 2026-12-05): the 26 crops exact vetting disputes there score
    #: at most 0.034 on the copy, and the 71 near-disputes (exact label below 0.05, another
    #: letter at least 0.8, confusable pairs included) at most 0.49. 0.9 (until the fifth
    #: session) sent 14.7% of tune's crops to the exact path; 0.7 sends 9.6%, still 0.2
    #: over every near-dispute and 20 times over every dispute of tune (held_out, looked
    #: at after: 0 of 28 disputed crops and 0 of 75 near-disputes missed, 9.5% sent;
    #: docs/BENCHMARKS.md).
    vet_screen_min_label_probability: float = 0.7
    #: A disputed name first gets the transcription forced onto it with the model as the
    #: judge (as guided repair does); it stays auto-accepted when that places every letter
    #: surely and the model disputes none of the new crops. Off: on the 995 dev names it
    #: rescued none of the 47 disputed names, at about 20 ms each (2026-12-05).
    vet_realign: bool = False

    # --- review -------------------------------------------------------------------
    #: A reviewer's claim on a name lapses this long after the reviewer was last seen; the
    #: Review page says "still here" every review_heartbeat_s while it is open (a browser
    #: slows the timers of a hidden tab to about one a minute, hence the margin).
    review_claim_ttl_s: float = 180.0
    review_heartbeat_s: float = 30.0
    #: A box with fewer ink pixels than this (after binarisation) is empty paper: Accept refuses it.
    review_min_box_ink_px: int = 4
    #: Search results and history rows shown at once on the Review page.
    review_list_limit: int = 25

    # --- jobs ---------------------------------------------------------------------
    job_poll_interval_s: float = 1.0
    train_epochs: int = 8
    train_batch_size: int = 128


DEFAULTS = Defaults()


def default_workspace() -> Path:
    """The workspace used when none is given: $HWOCR_WORKSPACE, else ./data."""
    env = os.environ.get(WORKSPACE_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (REPO_ROOT / "data").resolve()


def shipped_models_dir() -> Path:
    return REPO_ROOT / "models"


def allow_private_urls() -> bool:
    return os.environ.get(ALLOW_PRIVATE_ENV, "").strip().lower() in {"1", "true", "yes"}
