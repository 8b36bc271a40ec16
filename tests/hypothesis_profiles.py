"""Hypothesis profiles shared by every property-based test: ``import hypothesis_profiles`` first.

- ``kpbench`` (default): a few dozen examples and no deadline, so the suite stays quick and a
  busy machine (tests run in the background, 2 shared cores) never fails a test on time.
- ``fuzz``: 5000 examples per test (or KPBENCH_FUZZ_EXAMPLES), for ``make fuzz``
  (HYPOTHESIS_PROFILE=fuzz), not for CI.

The profile is chosen by the HYPOTHESIS_PROFILE environment variable.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("kpbench", max_examples=30, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("fuzz", max_examples=int(os.environ.get("KPBENCH_FUZZ_EXAMPLES", "5000")), deadline=None,
                          suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "kpbench"))
