"""The default (order and smoothing chosen per training set) against every fixed setting.

    .venv/bin/python benchmarks/selection.py [--count 10000] [--seeds 1 2 3]

Data: first names from Faker (every locale's ``first_names``,
``first_names_male`` and ``first_names_female``) and Mimesis (every
locale's ``person.json`` names), both MIT-licensed development
dependencies: Faker (c) 2012 Daniele Faraglia, https://github.com/joke2k/faker;
Mimesis (c) 2016-Present Isaak Uchakaev, https://github.com/lk-geimfari/mimesis.
Their union is a pool of some 51,000 distinct real first names.

For each training set (a few of Faker's locale lists, alone or together), a
model is trained on it and generates ``--count`` values per seed. The
reference of real names is the pool minus the training set (tens of
thousands of names the model never saw). Figures, means over the seeds:

- novelty: share of the generated values (counting repeats) not in the
  training set;
- new & real: distinct generated values that are not training values and
  are real names of the reference: realistic inventions, the figure a fake
  data generator wants high.

Settings: phony's default (selection by held-out cross-entropy, what
``phony train`` does without ``--order``), every fixed order 2..6 with each
smoothing, and a peer: a plain order-3 Markov chain in a few lines of Python
(``random.choices`` over the counts), as anyone would write. Then the
default model at several ``--temperature`` values.

Then (or alone, with ``--cost``) what the default costs beside a fixed
``--order 4`` train in the same run: CPU seconds of ``train`` and the size
of the written file, on the 1,497 Turkish first names of ``examples/``,
20,000 Faker en_US street addresses and 100,000 Faker values (companies,
cities and names of four locales), both generated with a fixed seed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import random
import sys
import time
from collections import Counter, defaultdict
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from phony_registry.format import dump_model  # noqa: E402
from phony_registry.ngram import SMOOTHINGS, read_values, train  # noqa: E402

ORDERS = (2, 3, 4, 5, 6)
TEMPERATURES = ("0.6", "0.8", "1", "1.25", "1.5")


def faker_first_names(locale: str) -> set[str]:
    """Every first name a Faker person provider lists for ``locale``."""
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    names: set[str] = set()
    for attribute in ("first_names", "first_names_male", "first_names_female"):
        for klass in provider.__mro__:
            data = klass.__dict__.get(attribute)
            if isinstance(data, list | tuple | dict | set):
                names |= {str(v).strip() for v in data}
                break
    names.discard("")
    return names


def faker_locales() -> list[str]:
    import faker.providers.person as person

    return sorted(m.name for m in pkgutil.iter_modules(person.__path__))


def mimesis_first_names() -> set[str]:
    base = resources.files("mimesis").joinpath("datasets")
    names: set[str] = set()
    for folder in sorted(Path(str(base)).iterdir()):
        path = folder / "person.json"
        if not path.is_file():
            continue
        data = json.loads(path.read_text("utf-8")).get("names", {})
        for key in ("female", "male"):
            names |= {str(v).strip() for v in data.get(key, [])}
    names.discard("")
    return names


def pool() -> set[str]:
    names = mimesis_first_names()
    for locale in faker_locales():
        try:
            names |= faker_first_names(locale)
        except (ImportError, AttributeError):
            continue
    return names


TRAINING_SETS = {
    "Faker tr_TR + en_US": ("tr_TR", "en_US"),
    "Faker de_DE": ("de_DE",),
    "Faker es_ES": ("es_ES",),
    "Faker sv_SE": ("sv_SE",),
    "Faker fr_FR + it_IT": ("fr_FR", "it_IT"),
    "Faker en (large)": ("en",),
}


def order3_chain(values: list[str], count: int, seed: int) -> list[str]:
    """A plain order-3 character Markov chain: counts of the next character after two."""
    follow: dict[str, Counter[str]] = defaultdict(Counter)
    for value in values:
        padded = "^^" + value + "$"
        for i in range(2, len(padded)):
            follow[padded[i - 2 : i]][padded[i]] += 1
    table = {ctx: (list(c), list(c.values())) for ctx, c in follow.items()}
    rng = random.Random(seed)
    longest = max(map(len, values))
    out: list[str] = []
    while len(out) < count:
        ctx, text = "^^", []
        while True:
            chars, weights = table[ctx]
            ch = rng.choices(chars, weights)[0]
            if ch == "$" or len(text) > longest:
                break
            text.append(ch)
            ctx = ctx[1] + ch
        if ch == "$" and text:
            out.append("".join(text))
    return out


def figures(generated: list[str], training: set[str], real: set[str]) -> tuple[float, int]:
    novelty = sum(v not in training for v in generated) / len(generated)
    new_real = len({v for v in generated if v not in training and v in real})
    return novelty, new_real


def cost_sets() -> dict[str, list[str]]:
    """The training sets whose cost is measured, built the same way on every run."""
    from faker import Faker

    streets = Faker("en_US")
    streets.seed_instance(18)
    mixed = Faker(["en_US", "de_DE", "fr_FR", "tr_TR"])
    mixed.seed_instance(18)
    makers = (mixed.company, mixed.city, mixed.name)
    return {
        "1,497 first names (examples/)": read_values(ROOT / "examples" / "tr_first_names.txt"),
        "20,000 street addresses": [streets.street_address() for _ in range(20_000)],
        "100,000 values": [makers[i % 3]() for i in range(100_000)],
    }


def cost() -> None:
    print(f"\ncost of the default (load average {os.getloadavg()[0]:.1f})")
    print(f"{'training set':<32}{'--order 4':>18}{'default':>20}  chosen")
    for label, values in cost_sets().items():
        started = time.process_time()
        fixed = dump_model(train(values, name="n", order=4))
        fixed_seconds = time.process_time() - started
        started = time.process_time()
        model = train(values, name="n")
        seconds = time.process_time() - started
        data = dump_model(model)
        chosen = model.selection
        assert chosen is not None
        print(
            f"{label:<32}{fixed_seconds:>6.2f} s {len(fixed) / 1024:>7.0f} KiB"
            f"{seconds:>8.2f} s {len(data) / 1024:>7.0f} KiB  order {chosen.order} "
            f"{chosen.smoothing}, {model.num_edges:,} edges, "
            f"{chosen.chosen.bits_per_character:.3f} bits/char"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--cost", action="store_true", help="measure only the cost")
    args = parser.parse_args()
    if args.cost:
        cost()
        return
    everything = pool()
    print(
        f"pool of real first names (Faker {len(faker_locales())} locales + Mimesis): "
        f"{len(everything):,}; {args.count:,} values per model, mean of seeds "
        f"{', '.join(map(str, args.seeds))}; load average {os.getloadavg()[0]:.1f}"
    )
    totals: dict[str, list[float]] = defaultdict(list)
    for label, locales in TRAINING_SETS.items():
        values = sorted(set().union(*(faker_first_names(loc) for loc in locales)))
        training, real = set(values), everything - set(values)
        rows: list[tuple[str, float, float]] = []

        def run(
            name: str,
            model_values: object,
            training: set[str] = training,
            real: set[str] = real,
            rows: list[tuple[str, float, float]] = rows,
        ) -> None:
            samples = [model_values(seed) for seed in args.seeds]  # type: ignore[operator]
            measured = [figures(s, training, real) for s in samples]
            novelty = sum(m[0] for m in measured) / len(measured)
            new_real = sum(m[1] for m in measured) / len(measured)
            rows.append((name, novelty, new_real))
            totals[name].append(new_real)
            totals[name + " novelty"].append(novelty)

        started = time.process_time()
        auto = train(values, name="auto")
        seconds = time.process_time() - started
        chosen = auto.selection
        assert chosen is not None
        n = args.count
        run("default (selected)", lambda seed, m=auto, n=n: m.generate(n, seed))
        for order in ORDERS:
            for smoothing in SMOOTHINGS:
                fixed = train(values, name="fixed", order=order, smoothing=smoothing)
                run(f"order {order} {smoothing}", lambda seed, m=fixed, n=n: m.generate(n, seed))
        run("peer: plain order-3 chain", lambda seed, v=values, n=n: order3_chain(v, n, seed))
        print(
            f"\n{label}: {len(values):,} training names, {len(real):,} other real names; "
            f"selected order {chosen.order} {chosen.smoothing} "
            f"({chosen.chosen.bits_per_character:.3f} bits/char held out, "
            f"{seconds:.1f} s CPU to train), {auto.num_edges:,} n-grams"
        )
        print(f"{'setting':<34}{'novelty':>9}{'new & real':>12}")
        best_fixed = max(r[2] for r in rows if r[0].startswith("order "))
        for name, novelty, new_real in rows:
            mark = " <- best fixed" if new_real == best_fixed and name.startswith("order ") else ""
            print(f"{name:<34}{novelty:>8.1%}{new_real:>12.1f}{mark}")
        print(f"temperature (default model){'':<7}{'novelty':>9}{'new & real':>12}{'distinct':>10}")
        for t in TEMPERATURES:
            warm = auto.with_temperature(t)
            samples = [warm.generate(args.count, seed) for seed in args.seeds]
            measured = [figures(s, training, real) for s in samples]
            distinct = sum(len(set(s)) for s in samples) / len(samples)
            print(
                f"  T = {t:<30}{sum(m[0] for m in measured) / len(measured):>8.1%}"
                f"{sum(m[1] for m in measured) / len(measured):>12.1f}{distinct:>10.0f}"
            )
    print("\nover every training set: total new & real, lowest novelty")
    names = [k for k in totals if not k.endswith(" novelty")]
    ranked = sorted(names, key=lambda k: -sum(totals[k]))
    for name in ranked:
        print(f"{name:<34}{sum(totals[name]):>10.1f}{min(totals[name + ' novelty']):>9.1%}")
    cost()


if __name__ == "__main__":
    main()
