"""The source database of the sync tests: a small shop with a realistic shape.

Seven tables: departments <-> employees form a foreign-key cycle through the
nullable ``departments.manager_id`` (and ``employees.manager_id`` refers to
its own table); customers -> orders -> order_items -> products is a chain;
``loyalty_cards`` is one-to-one with customers. Emails are UNIQUE,
``orders.status`` and ``customers.locale`` are CHECK enums, several columns
are nullable, ``order_items`` is UNIQUE on (order_id, product_id).

Names, cities and streets come from Faker's locale data (tr_TR and de_DE,
https://faker.readthedocs.io/en/master/locales.html), product names from
Mimesis' food and hardware providers; seeded, so the database is the same
on every run.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

__all__ = ["ROWS", "build_source"]

#: Rows per table.
ROWS = {
    "departments": 8,
    "employees": 120,
    "customers": 600,
    "loyalty_cards": 250,
    "products": 150,
    "orders": 1500,
    "order_items": 3000,
}

STATUSES = ["new", "paid", "shipped", "cancelled"]
LOCALES = ["tr_TR", "de_DE"]
_NOTES = ["kapıya bırakın", "bitte klingeln", "hediye paketi"]  # noqa: RUF001 - Turkish on purpose


def _metadata() -> Any:
    import sqlalchemy as sa

    md = sa.MetaData()
    sa.Table(
        "departments",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
        sa.Column("manager_id", sa.Integer, nullable=True),
        sa.ForeignKeyConstraint(["manager_id"], ["employees.id"], use_alter=True),
    )
    sa.Table(
        "employees",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("first_name", sa.String(40), nullable=False),
        sa.Column("last_name", sa.String(40), nullable=False),
        sa.Column("email", sa.String(120), nullable=False, unique=True),
        sa.Column("department_id", sa.Integer, sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("manager_id", sa.Integer, sa.ForeignKey("employees.id"), nullable=True),
        sa.Column("hired_on", sa.Date, nullable=False),
        sa.Column("salary", sa.Numeric(10, 2), nullable=False),
    )
    sa.Table(
        "customers",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("first_name", sa.String(40), nullable=False),
        sa.Column("last_name", sa.String(40), nullable=False),
        sa.Column("email", sa.String(120), nullable=False, unique=True),
        sa.Column("city", sa.String(60), nullable=False),
        sa.Column("street", sa.String(80), nullable=True),
        sa.Column("phone", sa.String(30), nullable=True),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("born_on", sa.Date, nullable=True),
        sa.CheckConstraint("locale IN ('tr_TR', 'de_DE')", name="customers_locale"),
    )
    sa.Table(
        "loyalty_cards",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False, unique=True
        ),
        sa.Column("points", sa.Integer, nullable=False),
    )
    sa.Table(
        "products",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("in_stock", sa.Boolean, nullable=False),
        # A native enum type on PostgreSQL, a VARCHAR on SQLite.
        sa.Column("unit", sa.Enum("piece", "kg", "litre", name="product_unit"), nullable=False),
    )
    sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("handled_by", sa.Integer, sa.ForeignKey("employees.id"), nullable=True),
        sa.Column("status", sa.String(12), nullable=False, server_default="new"),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        # A natural key copied from the customer (no foreign key declares it).
        sa.Column("contact_email", sa.String(120), nullable=True),
        sa.CheckConstraint(
            "status IN ('new', 'paid', 'shipped', 'cancelled')", name="orders_status"
        ),
    )
    sa.Table(
        "order_items",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.UniqueConstraint("order_id", "product_id"),
    )
    return md


def _people(rng: random.Random, count: int, seed: int) -> list[dict[str, Any]]:
    from faker import Faker

    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    people = []
    emails: set[str] = set()
    for i in range(count):
        locale = LOCALES[i % 2]
        f = fakers[locale]
        first, last = f.first_name(), f.last_name()
        local = f.user_name()
        email = f"{local}@{f.free_email_domain()}"
        n = 1
        while email in emails:
            n += 1
            email = f"{local}{n}@{f.free_email_domain()}"
        emails.add(email)
        people.append(
            {
                "first_name": first[:40],
                "last_name": last[:40],
                "email": email,
                "city": f.city()[:60],
                "street": f.street_name()[:80] if rng.random() > 0.1 else None,
                "phone": f.phone_number()[:30] if rng.random() > 0.3 else None,
                "locale": locale,
            }
        )
    return people


def build_source(engine: Any, seed: int = 1) -> None:
    """Create and fill the shop in ``engine``'s database (which must be empty)."""
    import sqlalchemy as sa
    from mimesis import Food, Hardware, Locale

    rng = random.Random(seed)
    md = _metadata()
    md.create_all(engine)
    t = md.tables
    departments = [
        {"id": i + 1, "name": name, "manager_id": None}
        for i, name in enumerate(
            [
                "Satış",  # noqa: RUF001 - Turkish text on purpose
                "Einkauf",
                "Lojistik",
                "Buchhaltung",
                "Pazarlama",
                "Personal",
                "Destek",
                "Entwicklung",
            ]
        )
    ]
    employees = []
    for i, person in enumerate(_people(rng, ROWS["employees"], seed)):
        employees.append(
            {
                "id": i + 1,
                "first_name": person["first_name"],
                "last_name": person["last_name"],
                "email": person["email"],
                "department_id": rng.randint(1, ROWS["departments"]),
                "manager_id": rng.randint(1, i) if i and rng.random() > 0.2 else None,
                "hired_on": dt.date(2005, 1, 1) + dt.timedelta(days=rng.randint(0, 7000)),
                "salary": Decimal(rng.randint(3_000_00, 12_000_00)) / 100,
            }
        )
    customers = []
    for i, person in enumerate(_people(rng, ROWS["customers"], seed + 10)):
        born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 20000))
        customers.append({"id": i + 1, **person, "born_on": born if rng.random() > 0.15 else None})
    cards = [
        {"id": i + 1, "customer_id": c, "points": int(rng.expovariate(1 / 400))}
        for i, c in enumerate(rng.sample(range(1, ROWS["customers"] + 1), ROWS["loyalty_cards"]))
    ]
    food, hardware = Food(Locale.TR, seed=seed), Hardware(seed=seed)
    products = [
        {
            "id": i + 1,
            "name": (food.dish() if i % 2 else f"{hardware.manufacturer()} {hardware.cpu()}")[:80],
            "price": Decimal(int(rng.lognormvariate(7, 1.2))) / 100,
            "in_stock": rng.random() > 0.25,
            "unit": rng.choice(["piece", "piece", "kg", "litre"]),
        }
        for i in range(ROWS["products"])
    ]
    weights = [rng.paretovariate(1.5) for _ in range(ROWS["customers"])]
    orders = [
        {
            "id": i + 1,
            "customer_id": rng.choices(range(1, ROWS["customers"] + 1), weights)[0],
            "handled_by": rng.randint(1, ROWS["employees"]) if rng.random() > 0.4 else None,
            "status": rng.choices(STATUSES, [10, 40, 45, 5])[0],
            "created_at": dt.datetime(2022, 1, 1) + dt.timedelta(seconds=rng.randint(0, 10**8)),
            "note": rng.choice(_NOTES) if rng.random() > 0.8 else None,
            "contact_email": None,
        }
        for i in range(ROWS["orders"])
    ]
    for order in orders:
        if rng.random() > 0.1:
            order["contact_email"] = customers[order["customer_id"] - 1]["email"]
    items, pairs = [], set()
    while len(items) < ROWS["order_items"]:
        pair = (rng.randint(1, ROWS["orders"]), rng.randint(1, ROWS["products"]))
        if pair in pairs:
            continue
        pairs.add(pair)
        items.append(
            {
                "id": len(items) + 1,
                "order_id": pair[0],
                "product_id": pair[1],
                "quantity": rng.randint(1, 5),
            }
        )
    with engine.begin() as conn:
        conn.execute(t["departments"].insert(), departments)
        conn.execute(t["employees"].insert(), employees)
        for i in range(ROWS["departments"]):
            conn.execute(
                t["departments"].update().where(t["departments"].c.id == i + 1),
                {"manager_id": rng.randint(1, ROWS["employees"])},
            )
        conn.execute(t["customers"].insert(), customers)
        conn.execute(t["loyalty_cards"].insert(), cards)
        conn.execute(t["products"].insert(), products)
        conn.execute(t["orders"].insert(), orders)
        conn.execute(t["order_items"].insert(), items)
    del sa
