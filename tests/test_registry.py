"""Discovery, selection, name resolution and in-process registration."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tfp_arch.registry import (
    AmbiguousArchitectureError,
    PluginLoadError,
    Registry,
    RegistryError,
    UnknownArchitectureError,
)

BUILTINS = {"bnn", "bcnn", "vae", "maf", "nsf"}


def test_builtins_are_discovered_as_entry_points_of_the_tfp_arch_distribution():
    entries = {e.name: e for e in Registry().entries()}
    assert BUILTINS <= set(entries)
    for name in BUILTINS:
        assert entries[name].qualified == f"tfp-arch:{name}"
        assert entries[name].problem() is None


def test_listing_does_not_import_tensorflow_or_plugins():
    code = (
        "import sys, tfp_arch.registry as r; "
        "[e.problem() for e in r.default_registry().entries()]; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras') "
        "or m.startswith(('tfp_arch.plugins', 'tfp_arch.registry.loading'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_third_party_distribution_is_discovered_with_its_name_and_version(plugins):
    module = plugins.unique("thirdparty")
    plugins.distribution("acme-arch", {"acme": f"{module}:Model"}, {module: "Model = object\n"})
    entry = Registry().resolve("acme")
    assert (entry.distribution, entry.version, entry.value) == ("acme-arch", "1.0", f"{module}:Model")


def test_load_imports_only_on_demand_and_reuses_the_object(plugins):
    module = plugins.unique("lazy")
    plugins.distribution("lazy-arch", {"lazy": f"{module}:Model"}, {module: "Model = object()\n"})
    registry = Registry()
    registry.resolve("lazy")
    assert module not in sys.modules
    first = registry.load("lazy")
    assert module in sys.modules and registry.load("lazy-arch:lazy") is first


def test_unknown_name_suggests_the_closest_known_names():
    with pytest.raises(UnknownArchitectureError, match="did you mean 'bnn'") as info:
        Registry().resolve("bn")
    assert info.value.suggestions[0] == "bnn"


def test_two_distributions_with_one_name_raise_an_error_naming_both(plugins):
    module = plugins.unique("dup")
    plugins.distribution("first-dist", {"twin": f"{module}:A"}, {module: "A = 1\nB = 2\n"})
    plugins.distribution("second-dist", {"twin": f"{module}:B"}, {})
    registry = Registry()
    with pytest.raises(AmbiguousArchitectureError) as info:
        registry.resolve("twin")
    assert "first-dist:twin" in str(info.value) and "second-dist:twin" in str(info.value)
    assert registry.load("first-dist:twin") == 1
    assert registry.load("second_dist:twin") == 2


def test_a_plugin_that_fails_to_import_is_attributed_and_the_others_still_load(plugins):
    module = plugins.unique("explodes")
    plugins.distribution("broken-arch", {"kaboom": f"{module}:Model"}, {module: "raise RuntimeError('no GPU driver')\n"})
    registry = Registry()
    with pytest.raises(PluginLoadError) as info:
        registry.load("kaboom")
    message = str(info.value)
    assert "broken-arch:kaboom" in message and f"{module}:Model" in message and "RuntimeError: no GPU driver" in message
    loaded = registry.load_all()
    assert "broken-arch:kaboom" in registry.broken and "broken-arch:kaboom" not in loaded
    assert {"tfp-arch:bnn", "tfp-arch:vae", "tfp-arch:maf"} <= set(loaded)


def test_a_missing_module_or_bad_value_is_a_static_problem(plugins):
    plugins.distribution("ghost-arch", {"ghost": "no_such_module_anywhere:Model", "bad": "not a value"}, {})
    entries = {e.name: e for e in Registry().entries()}
    assert "not found" in entries["ghost"].problem()
    assert "invalid entry point value" in entries["bad"].problem()


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("none", set()),
        ("builtin", BUILTINS),
        ("bnn,vae", {"bnn", "vae"}),
        ("tfp-arch:maf", {"maf"}),
        ("tfp_arch:*", BUILTINS),
    ],
)
def test_tfp_arch_plugins_restricts_autoloading(monkeypatch, setting, expected):
    monkeypatch.setenv("TFP_ARCH_PLUGINS", setting)
    assert set(Registry().names()) == expected


def test_tfp_arch_plugins_builtin_excludes_third_party(plugins, monkeypatch):
    plugins.distribution("other-arch", {"other": "x:Y"}, {})
    monkeypatch.setenv("TFP_ARCH_PLUGINS", "builtin")
    assert "other" not in Registry().names()


def test_in_process_registration_as_decorator_and_removal():
    registry = Registry()

    @registry.register(name="mine")
    class Mine:
        pass

    assert registry.load("mine") is Mine and registry.resolve("local:mine").obj is Mine
    registry.unregister("mine")
    with pytest.raises(UnknownArchitectureError):
        registry.resolve("mine")


def test_in_process_registration_never_shadows_silently():
    registry = Registry()
    with pytest.raises(RegistryError, match="belongs to tfp-arch:bnn"):
        registry.register(object, name="bnn")
    registry.register(type("A", (), {}), name="thing")
    with pytest.raises(RegistryError, match="replace=True"):
        registry.register(type("B", (), {}), name="thing")
    replacement = type("C", (), {})
    registry.register(replacement, name="thing", replace=True)
    assert registry.load("thing") is replacement


@pytest.mark.slow
def test_invalid_names_are_rejected():
    with pytest.raises(RegistryError, match="expected an identifier"):
        Registry().register(object, name="has space")
