"""The test suite. The helper modules that test modules load as pytest plugins
(``pytest_plugins = (...)``) get pytest's assertion rewriting like the tests themselves."""

import pytest

pytest.register_assert_rewrite("tests.emulator_v2_http", "tests.fake_time", "tests.v2_stub")
