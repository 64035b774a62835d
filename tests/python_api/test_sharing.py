"""A Phony shared: its field methods pickled and copied, one instance drawn from by many threads."""

from __future__ import annotations

import copy
import pickle
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from phony_registry import Phony

FIELDS = ["first_name", "name", "email", "street_name"]


def _pickled(obj: Any) -> Any:
    # S301: the bytes are the ones this test just pickled.
    return pickle.loads(pickle.dumps(obj))  # noqa: S301


@pytest.mark.parametrize("duplicate", [_pickled, copy.deepcopy], ids=["pickle", "deepcopy"])
@pytest.mark.parametrize("field", FIELDS)
def test_a_field_method_pickles_and_copies_before_and_after_its_first_call(
    field: str, duplicate: Callable[[Any], Any]
) -> None:
    # As a Faker bound method does: the copy is the method of a copy of the
    # instance, which goes on from where the original's stream was.
    expected = Phony("tr_TR", seed=5).take(field, 40)
    fake = Phony("tr_TR", seed=5, buffer=4)
    held = getattr(fake, field)  # taken before the first call
    fresh = duplicate(held)
    assert [held() for _ in range(6)] == expected[:6]
    after_calls = duplicate(held)
    installed = duplicate(getattr(fake, field))  # taken after the first call
    assert [fresh() for _ in range(3)] == expected[:3]
    assert [after_calls() for _ in range(10)] == expected[6:16]
    assert [installed() for _ in range(10)] == expected[6:16]
    # The copies drew on their own: the original is where it was.
    assert [held() for _ in range(3)] == expected[6:9]
    assert held.__name__ == field


def test_a_copied_method_and_its_copied_instance_share_the_copy_stream() -> None:
    # Pickled together (a pool's arguments), a method and its instance stay one
    # stream in the copy, as in the original.
    fake = Phony("tr_TR", seed=8)
    method = fake.first_name
    method()
    fake2, method2 = _pickled((fake, method))
    expected = Phony("tr_TR", seed=8).take("first_name", 4)
    assert [method2(), fake2.first_name(), method2()] == expected[1:4]


def test_a_pickled_method_of_a_reseeded_instance_starts_from_the_new_seed() -> None:
    fake = Phony("en_US", seed=1)
    method = fake.city
    method()
    fake.seed_instance(2)
    assert _pickled(method)() == Phony("en_US", seed=2).city()
    method()
    assert _pickled(method)() == Phony("en_US", seed=2).take("city", 2)[1]


@pytest.fixture
def switch_often() -> Iterator[None]:
    """Threads switch every microsecond rather than every 5 ms: races show in a short test."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def _hammer(work: Callable[[int], list[Any]], threads: int) -> list[Any]:
    """Run ``work(i)`` in ``threads`` threads started together; every value, or the first error."""
    start = threading.Barrier(threads)
    results: list[list[Any]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # re-raised below, once every thread is done
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return [value for got in results for value in got]


@pytest.mark.usefixtures("switch_often")
@pytest.mark.parametrize("buffer", [1, 256])
def test_threads_sharing_one_phony_get_each_value_of_the_stream_once(buffer: int) -> None:
    threads, calls = 8, 2_500
    fake = Phony("tr_TR", seed=21, buffer=buffer)

    def work(i: int) -> list[str]:
        # One method taken before the first call, the attribute looked up each
        # time, and take(): all of them the one stream of first_name.
        if i % 3 == 0:
            method = fake.first_name
            return [method() for _ in range(calls)]
        if i % 3 == 1:
            return [fake.first_name() for _ in range(calls)]
        return [value for _ in range(calls // 5) for value in fake.take("first_name", 5)]

    given = _hammer(work, threads)
    assert len(given) == threads * calls
    # Every value of the stream, each once: the multiset of one thread's run.
    assert Counter(given) == Counter(Phony("tr_TR", seed=21).take("first_name", len(given)))
    # Nothing lost nor given twice: the stream goes on right after them.
    alone = Phony("tr_TR", seed=21).take("first_name", len(given) + 5)
    assert fake.take("first_name", 5) == alone[-5:]


@pytest.mark.usefixtures("switch_often")
def test_threads_sharing_aliases_values_and_records_get_each_once() -> None:
    threads, calls = 6, 600
    fake = Phony("tr_TR", seed=4, buffer=2)

    def work(i: int) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for n in range(calls):
            # street and street_name are one stream under two names.
            out.append(("street", fake.street() if (i + n) % 2 else fake.street_name()))
            out.append(("city", fake.value("tr_TR/cities")))
            if n % 10 == 0:
                out.append(("person", tuple(fake.record("person").items())))
        return out

    given = _hammer(work, threads)
    alone = Phony("tr_TR", seed=4)
    by_kind: dict[str, list[Any]] = {}
    for kind, value in given:
        by_kind.setdefault(kind, []).append(value)
    assert Counter(by_kind["street"]) == Counter(alone.take("street", threads * calls))
    cities = [alone.value("tr_TR/cities") for _ in range(threads * calls)]
    assert Counter(by_kind["city"]) == Counter(cities)
    people = [tuple(r.items()) for r in alone.records("person", len(by_kind["person"]))]
    assert Counter(by_kind["person"]) == Counter(people)


@pytest.mark.usefixtures("switch_often")
def test_threads_making_a_field_for_the_first_time_share_one_stream() -> None:
    # The first calls of a field race to install it: one stream, not one per thread.
    for seed in range(20):
        fake = Phony("tr_TR", seed=seed)
        given = _hammer(lambda _, fake=fake: [fake.last_name(), fake.last_name()], 4)
        assert Counter(given) == Counter(Phony("tr_TR", seed=seed).take("last_name", 8))
