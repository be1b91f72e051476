"""The fixed dev split: a hash of unit_id, the same on every machine and for every subset."""

import pytest

from hwocr.devsplit import HELD_OUT, TUNE, half_of, select

EXPECTED = ['held_out', 'held_out', 'tune', 'tune']


def test_split_is_a_fixed_function_of_the_unit_id():
    # Recorded once: if these change, every figure reported on the held-out half changes meaning.
    assert [half_of(f"VALIDATION_{i:04d}") for i in range(1, 5)] == EXPECTED


def test_split_ignores_order_and_subset_and_is_about_half():
    ids = [f"unit-{i}" for i in range(2000)]
    held = select([(u,) for u in ids], HELD_OUT)
    tune = select([(u,) for u in reversed(ids)], TUNE)
    assert len(held) + len(tune) == len(ids)
    assert not {u for (u,) in held} & {u for (u,) in tune}
    assert 900 < len(held) < 1100
    assert select([(u,) for u in ids[:50]], HELD_OUT) == [(u,) for u in ids[:50] if (u,) in held]
    assert len(select([(u,) for u in ids], None)) == len(ids)


def test_unknown_half_is_refused():
    with pytest.raises(ValueError, match="tune, held_out"):
        select([("a",)], "test")
