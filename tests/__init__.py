"""The test suite (tiers by folder: see ``conftest.py``). The support modules that are pytest
plugins (``pytest_plugins = (...)``) or hold assertions of their own get pytest's assertion
rewriting like the tests themselves: registered here, before anything imports them."""

import pytest

pytest.register_assert_rewrite("tests.support.emulator_v2_http", "tests.support.fake_time",
                               "tests.support.login_user", "tests.support.servers",
                               "tests.support.time_limits", "tests.support.tls_stand_in",
                               "tests.support.v1_envelopes", "tests.support.v1_stub",
                               "tests.support.v2_stub")
