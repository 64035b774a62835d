"""The code under test: a sign-up form that cleans what a user typed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    name: str
    email: str
    city: str
    handle: str


def signup(name: str, email: str, city: str) -> Account:
    """Check and normalise a sign-up; the handle is the name in lowercase ASCII."""
    if "@" not in email:
        raise ValueError(f"not an e-mail address: {email!r}")
    folded = unicodedata.normalize("NFKD", name.replace("\u0131", "i"))  # dotless i
    handle = re.sub(r"[^a-z0-9]", "", folded.encode("ascii", "ignore").decode().lower())
    if not handle:
        raise ValueError(f"no letters to make a handle from: {name!r}")
    return Account(" ".join(name.split()), email.strip().lower(), city.strip(), handle[:24])
