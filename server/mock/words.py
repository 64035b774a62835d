"""English plurals of collection names: ``person`` -> ``people``, and back.

Shared by the schema sources (:mod:`phony_server.mock.sources`), the records'
references and the OpenAPI import, below all of them.
"""

from __future__ import annotations

__all__ = ["plural", "singular"]


def plural(word: str) -> str:
    """``person`` -> ``people``, ``company`` -> ``companies``, ``address`` -> ``addresses``."""
    irregular = {"person": "people", "child": "children", "man": "men", "woman": "women"}
    if word in irregular:
        return irregular[word]
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def singular(word: str) -> str:
    """The inverse of :func:`plural` for the forms it makes: ``people`` -> ``person``."""
    irregular = {"people": "person", "children": "child", "men": "man", "women": "woman"}
    if word in irregular:
        return irregular[word]
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
