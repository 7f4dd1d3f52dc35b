"""The one reader of put.io answers into models (:func:`putiofs.net.lenient.from_answer`): each
field read as its declaration says, and the models of both versions declared consistently."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from putiofs.api import services, signin
from putiofs.net.lenient import from_answer, json_field, to_flag, to_int, to_str
from putiofs.v1 import models as v1_models
from putiofs.v2 import models as v2_models


@dataclass(frozen=True)
class Sample:
    id: int | None = json_field(to_int)
    name: str | None = json_field(to_str, fallback="title", default=None)
    used: int | None = json_field(to_int, ("disk", "used"), default=None)
    hidden: bool = json_field(to_flag, "is_hidden", default=False)
    secret: str | None = json_field(to_str, default=None, repr=False)
    derived: str = "unset"


def test_each_declared_field_is_read_with_its_parser_from_its_key():
    sample = from_answer(Sample, {"id": "7", "name": 12.0, "disk": {"used": "5"},
                                  "is_hidden": "1", "secret": "s", "derived": "not read"})
    assert sample == Sample(id=7, name="12", used=5, hidden=True, secret="s", derived="unset")
    assert "secret" not in repr(sample)


@pytest.mark.parametrize("answer,name", [
    ({"title": "old"}, "old"),
    ({"name": None, "title": "old"}, "old"),
    ({"name": "new", "title": "old"}, "new"),
    ({"name": "", "title": "old"}, ""),
    ({}, None),
])
def test_the_fallback_key_is_read_where_the_key_is_null_or_absent(answer, name):
    assert from_answer(Sample, answer).name == name


def test_given_values_are_taken_as_they_are_and_the_rest_keep_their_defaults():
    sample = from_answer(Sample, {"id": "7", "name": "n"}, name=["as given"], derived="d")
    assert (sample.id, sample.name, sample.derived) == (7, ["as given"], "d")
    assert (sample.used, sample.hidden, sample.secret) == (None, False, None)


@pytest.mark.parametrize("answer", [None, [], "text", 3, {"disk": "not an object"}])
def test_what_is_not_an_object_reads_as_an_empty_one(answer):
    assert from_answer(Sample, answer) == Sample(id=None)


def test_a_declared_field_without_a_default_is_required():
    with pytest.raises(TypeError):
        Sample()


NEUTRAL_BASES = {services.Message, services.Subscription, services.Transfer, services.LinkInfo,
                 services.LinkAnalysis, services.Friend, services.Mp4Conversion,
                 services.ZipArchive, signin.DeviceCode}


def _subclasses_of_neutral_models():
    for module in (v1_models, v2_models):
        for model in vars(module).values():
            if isinstance(model, type) and model.__module__ == module.__name__:
                for base in model.__mro__[1:]:
                    if base in NEUTRAL_BASES:
                        yield pytest.param(model, base, id=f"{module.__name__}.{model.__name__}")


@pytest.mark.parametrize("model,base", list(_subclasses_of_neutral_models()))
def test_a_version_model_declares_the_neutral_fields_it_reads_as_the_neutral_model_has_them(
        model, base):
    """A version's model that declares again a field of its neutral model (to say how it is
    read) keeps its place, default and repr: built or shown, it is still that neutral model."""
    mine = {f.name: f for f in dataclasses.fields(model)}
    for neutral in dataclasses.fields(base):
        field = mine[neutral.name]
        assert (field.default, field.default_factory, field.repr, field.compare) == (
            neutral.default, neutral.default_factory, neutral.repr, neutral.compare), field.name
    assert [f.name for f in dataclasses.fields(model)][:len(dataclasses.fields(base))] == [
        f.name for f in dataclasses.fields(base)]
