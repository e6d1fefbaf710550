"""JoorBearerAuth is imported on first use: what a process without requests is told."""

from __future__ import annotations

import sys

import pytest

import joor_token


@pytest.fixture
def no_requests_auth_loaded(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """As in a fresh process: the package's requests module not imported yet."""
    monkeypatch.delitem(sys.modules, "joor_token._requests_auth", raising=False)
    return monkeypatch


@pytest.mark.parametrize("cached", [True, False], ids=["submodules-cached", "nothing-cached"])
def test_without_requests_the_auth_says_which_extra_to_install(
    no_requests_auth_loaded: pytest.MonkeyPatch, cached: bool
) -> None:
    # Whether the import stops at requests itself or at requests.auth, requests is missing.
    for name in [m for m in sys.modules if m.startswith("requests.")]:
        if cached:
            no_requests_auth_loaded.setitem(sys.modules, name, None)
        else:
            no_requests_auth_loaded.delitem(sys.modules, name)
    no_requests_auth_loaded.setitem(sys.modules, "requests", None)

    with pytest.raises(ImportError) as caught:
        _ = joor_token.JoorBearerAuth

    assert str(caught.value) == (
        "joor_token.JoorBearerAuth needs the requests package: install joor-token with its "
        'requests extra ("joor-token[requests]" in the requirement) or install requests'
    )
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_another_missing_module_is_not_blamed_on_requests(
    no_requests_auth_loaded: pytest.MonkeyPatch,
) -> None:
    no_requests_auth_loaded.setitem(sys.modules, "joor_token._requests_auth", None)

    with pytest.raises(ModuleNotFoundError) as caught:
        _ = joor_token.JoorBearerAuth

    assert caught.value.name == "joor_token._requests_auth"


def test_with_requests_the_auth_is_the_requests_auth_class(
    no_requests_auth_loaded: pytest.MonkeyPatch,
) -> None:
    from requests.auth import AuthBase

    assert issubclass(joor_token.JoorBearerAuth, AuthBase)


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    with pytest.raises(AttributeError) as caught:
        _ = joor_token.TokenCache  # type: ignore[attr-defined]

    assert str(caught.value) == "module 'joor_token' has no attribute 'TokenCache'"
