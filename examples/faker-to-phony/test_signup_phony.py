"""After: the same tests with phony's fixture (the fixture and one marker changed)."""

import pytest
from signup import signup

pytestmark = pytest.mark.phony("tr_TR")


@pytest.fixture
def fake(phony):
    return phony


def test_the_name_is_kept(fake):
    name = fake.name()
    assert signup(name, fake.email(), fake.city()).name == name


def test_handles_are_ascii(fake):
    for _ in range(200):
        account = signup(fake.name(), fake.email(), fake.city())
        assert account.handle.isascii()
        assert account.handle.isalnum()


def test_emails_are_lowercase(fake):
    for _ in range(200):
        email = fake.email()
        assert signup(fake.name(), email.upper(), fake.city()).email == email.lower()


def test_a_bad_email_is_refused(fake):
    with pytest.raises(ValueError, match="not an e-mail"):
        signup(fake.name(), fake.first_name(), fake.city())
