"""The test suite. The helper modules that test modules load as pytest plugins
(``pytest_plugins = (...)``) get pytest's assertion rewriting like the tests themselves."""

import pytest

pytest.register_assert_rewrite("tests.support.emulator_v2_http", "tests.support.fake_time",
                               "tests.support.login_user", "tests.support.servers",
                               "tests.support.time_limits", "tests.support.tls_stand_in",
                               "tests.support.v1_envelopes", "tests.support.v1_stub",
                               "tests.support.v2_stub")
