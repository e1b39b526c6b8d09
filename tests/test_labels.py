"""labels: scenario labels shortened to a width and still told apart; file names."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reformsim.report.labels import short_labels, slug

PACKAGES = ["Institutions", "Leadership", "Multichannel", "Engagement", "Knowledge", "ICT"]
FACTORIAL = ["Status quo (base)"] + [" + ".join(c) for k in range(1, 7)
                                     for c in itertools.combinations(PACKAGES, k)]


@pytest.mark.parametrize("width", [28, 34, 40], ids=lambda w: f"width-{w}")
def test_a_factorial_s_labels_fit_and_stay_apart(width):
    short = short_labels(FACTORIAL, width)
    assert max(map(len, short)) <= width
    assert len(set(short)) == len(FACTORIAL)


def test_labels_that_fit_are_kept():
    assert short_labels(["Status quo", "Holistic roadmap"], 28) == ["Status quo",
                                                                   "Holistic roadmap"]


def test_every_long_label_cuts_its_words_the_same_way():
    short = short_labels(FACTORIAL, 34)
    assert short[-1] == "Inst.+Lead.+Mult.+Enga.+Know.+ICT"
    assert "Inst. + Lead. + Mult. + Enga. + Know." not in short     # all long ones compacted
    assert short[1] == "Institutions"


def test_a_long_plain_label_loses_only_what_it_must():
    assert short_labels(["Decentralisation, no local capacity"], 28) == [
        "Decentra., no local capacity"]


def test_labels_equal_once_cut_keep_their_ends():
    assert short_labels(["A very long label that is the same at the start one",
                         "A very long label that is the same at the start two"], 20) == [
        "A very lo…start one", "A very lo…start two"]


@given(st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=12, unique=True),
       st.integers(8, 40))
def test_short_labels_always_fit_and_differ(labels, width):
    folded = [" ".join(label.split()) for label in labels]
    if len(set(folded)) < len(folded) or not all(folded):
        return                                    # equal once spaces are folded: not apart
    short = short_labels(labels, width)
    assert all(len(s) <= width for s in short)
    assert len(set(short)) == len(short)


@pytest.mark.parametrize(("name", "expected"), [("Service quality", "service-quality"),
                                                ("Population[north,young]",
                                                 "population-north-young"),
                                                ("Cost / case (€)", "cost-case"),
                                                ("$$$", "variable")],
                         ids=["spaces", "cell", "symbols", "nothing-left"])
def test_slug(name, expected):
    assert slug(name) == expected
