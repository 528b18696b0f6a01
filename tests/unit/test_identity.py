import pytest

from hiring_signals.identity import InvalidEmail, Pseudonymiser, normalise_email


def test_same_person_same_ref_whatever_the_spelling():
    p = Pseudonymiser(b"k" * 32)
    refs = {p.candidate_ref(e) for e in ["Cara.New@Persona.Example", "  cara.new@persona.example ", "CARA.NEW@persona.example"]}
    assert len(refs) == 1
    (ref,) = refs
    assert ref.startswith("cand_") and len(ref) == 37


def test_ref_depends_on_the_key():
    assert Pseudonymiser(b"a" * 32).candidate_ref("x@y.org") != Pseudonymiser(b"b" * 32).candidate_ref("x@y.org")


def test_plus_tags_are_not_merged():
    assert normalise_email("jo+work@example.org") != normalise_email("jo@example.org")


@pytest.mark.parametrize("bad", ["", "no-at-sign", "@example.org", "jo@", "jo@localhost", "jo @x.org", "jo@.org"])
def test_invalid_emails_are_rejected(bad):
    with pytest.raises(InvalidEmail):
        normalise_email(bad)


def test_short_keys_are_refused():
    with pytest.raises(ValueError):
        Pseudonymiser(b"short")
