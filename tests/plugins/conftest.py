"""tests/plugins/acme is a plugin distribution with its own tests, installed by the tests here."""

collect_ignore = ["acme"]
