"""Faker with phony's provider, a factory_boy factory and Hypothesis tests, as users write them."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass

import factory
import factory.random
import pytest
from faker import Faker
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from phony_registry import Phony
from phony_registry import strategies as ps
from phony_registry.errors import UsageError
from phony_registry.facade._pools import field_sample
from phony_registry.generators import ascii_fold
from phony_registry.integrations.factory_boy import PhonyAttribute
from phony_registry.integrations.faker import PhonyProvider

# -- Faker ---------------------------------------------------------------------------


def test_faker_fields_switch_to_phony_and_follow_faker_seed() -> None:
    fake = Faker("en_US")
    fake.add_provider(PhonyProvider("tr_TR"))
    turkish = set(field_sample(("tr_TR",), "first_name"))
    Faker.seed(2024)
    first = [fake.first_name() for _ in range(200)]
    assert set(first) <= turkish  # every first name is one of phony's tr_TR names
    assert len(set(first)) > 50
    Faker.seed(2024)
    assert [fake.first_name() for _ in range(200)] == first
    Faker.seed(2025)
    assert [fake.first_name() for _ in range(200)] != first
    # Faker's own formats now compose phony's fields.
    Faker.seed(1)
    full = fake.name()
    assert any(part in turkish for part in full.split())
    assert fake.city() in set(field_sample(("tr_TR",), "city"))


def test_faker_seed_instance_gives_each_instance_its_stream() -> None:
    one, two = Faker(), Faker()
    one.add_provider(PhonyProvider("en_US"))
    two.add_provider(PhonyProvider("en_US"))
    one.seed_instance(7)
    two.seed_instance(7)
    assert [one.last_name() for _ in range(50)] == [two.last_name() for _ in range(50)]
    two.seed_instance(8)
    assert [one.street_name() for _ in range(50)] != [two.street_name() for _ in range(50)]


@pytest.mark.usefixtures("de_plugin")
def test_faker_provider_fields_and_errors() -> None:
    fake = Faker()
    fake.add_provider(PhonyProvider(["de_DE", "en_US"], fields=["first_name", "company"]))
    assert isinstance(fake.company(), str)
    with pytest.raises(UsageError, match="no field shoe_size"):
        PhonyProvider("tr_TR", fields=["shoe_size"])


def test_faker_provider_fields_given_as_one_string_is_that_field() -> None:
    # fields="email" is one field, not the fields e, m, a, i and l.
    provider = PhonyProvider("tr_TR", fields="email")
    assert [name for name in ("email", "first_name") if name in vars(provider)] == ["email"]
    with pytest.raises(UsageError, match=r"^no field shoe_size for tr_TR"):
        PhonyProvider("tr_TR", fields="shoe_size")


def test_a_faker_provider_for_a_locale_phony_has_no_pack_for_is_an_error() -> None:
    # A provider with no methods would leave Faker's own values in place, silently.
    with pytest.raises(UsageError, match=r"^no fields for fr_FR: .*\['fr_FR', 'en_US'\]"):
        PhonyProvider("fr_FR")
    fake = Faker()
    fake.add_provider(PhonyProvider(["fr_FR", "en_US"], fields=["first_name"]))
    fake.seed_instance(1)
    assert fake.first_name() in set(field_sample(("en_US",), "first_name"))


def test_a_faker_with_phony_provider_pickles_and_copies_as_faker_does() -> None:
    # Faker instances pickle (multiprocessing with spawn, caches) and deepcopy,
    # continuing their random stream; adding phony's provider must not break that.
    fake = Faker()
    fake.add_provider(PhonyProvider("tr_TR", fields=["first_name", "city"]))
    fake.seed_instance(5)
    fake.first_name()
    # S301: the bytes are the ones this test just pickled.
    for duplicate in (lambda f: pickle.loads(pickle.dumps(f)), copy.deepcopy):  # noqa: S301
        twin = duplicate(fake)
        assert [twin.first_name() for _ in range(20)] == [fake.first_name() for _ in range(20)]
        assert twin.city() == fake.city()
    assert set(field_sample(("tr_TR",), "first_name")) >= {twin.first_name()}


# -- factory_boy ---------------------------------------------------------------------


@dataclass
class User:
    first_name: str
    last_name: str
    email: str
    city: str


class UserFactory(factory.Factory):  # type: ignore[misc]
    class Meta:
        model = User

    first_name = PhonyAttribute("first_name", locale="tr_TR")
    last_name = PhonyAttribute("last_name", locale="tr_TR")
    email = factory.LazyAttribute(
        lambda u: f"{ascii_fold(u.first_name)}.{ascii_fold(u.last_name)}@example.com"
    )
    city = PhonyAttribute("city", locale=["de_DE", "en_US"])


def test_factory_boy_declarations_follow_reseed_random() -> None:
    factory.random.reseed_random(99)
    users = UserFactory.build_batch(30)
    assert all(u.first_name in set(field_sample(("tr_TR",), "first_name")) for u in users)
    assert all(u.email.endswith("@example.com") for u in users)
    assert len({u.first_name for u in users}) > 10
    factory.random.reseed_random(99)
    assert UserFactory.build_batch(30) == users
    factory.random.reseed_random(100)
    assert UserFactory.build_batch(30) != users


@pytest.mark.usefixtures("de_plugin")
def test_factory_boy_locale_can_be_overridden_per_call() -> None:
    factory.random.reseed_random(1)
    german = {UserFactory(first_name__locale="de_DE").first_name for _ in range(20)}
    assert german <= set(field_sample(("de_DE",), "first_name"))
    assert len(german) > 5
    assert UserFactory().first_name in set(field_sample(("tr_TR",), "first_name"))


# -- Hypothesis ----------------------------------------------------------------------


@given(ps.values("tr_TR/first_names"))
def test_hypothesis_values_are_model_values(name: str) -> None:
    assert name
    assert name == name.strip()


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(ps.records("person", locale="tr_TR"), st.integers(min_value=1, max_value=3))
def test_hypothesis_records_are_people(person: dict[str, str], n: int) -> None:
    assert list(person) == ["first_name", "last_name", "email", "city"]
    assert person["email"].startswith(ascii_fold(person["first_name"]))
    person["city"] = "changed"  # a test may change its example: the sample stays intact


def test_hypothesis_shrinks_toward_short_values() -> None:
    sample = set(field_sample(("tr_TR",), "first_name"))
    shortest = find(ps.values("first_names", locale="tr_TR"), lambda v: True)
    assert len(shortest) == min(len(v) for v in sample)
    long_enough = find(ps.values("tr_TR/first_names"), lambda v: len(v) >= 7)
    assert len(long_enough) == 7
    smallest = find(ps.records("person", locale="tr_TR"), lambda r: True)
    people = Phony("tr_TR", seed=0).records("person", 1024)
    assert sum(map(len, smallest.values())) == min(sum(map(len, p.values())) for p in people)


def test_hypothesis_draws_the_same_examples_for_the_same_seed() -> None:
    def draw(seed: int) -> list[str]:
        seen: list[str] = []

        @settings(max_examples=30, database=None, derandomize=False)
        @given(ps.values("en_US/last_names"))
        def collect(value: str) -> None:
            seen.append(value)

        from hypothesis import seed as hypothesis_seed

        hypothesis_seed(seed)(collect)()
        return seen

    assert draw(5) == draw(5)
