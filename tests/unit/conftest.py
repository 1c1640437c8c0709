"""Unit tests do not depend on who runs pytest."""
import pytest


@pytest.fixture(autouse=True)
def no_sudo_user(monkeypatch):
    # sudo-needs-password checks SUDO_USER's sudo by default: a pytest run under sudo would
    # otherwise add a user to every simulated host
    monkeypatch.delenv('SUDO_USER', raising=False)
