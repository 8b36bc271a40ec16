"""Every SkyPilot call kpbench makes holds against the installed SkyPilot itself, and the fake SDK cannot drift.

The calls kpbench makes are the paths in ``sky_api.SDK``. Against the installed package (skipped where
SkyPilot is absent; CI installs the `cloud` extra): each resolves to a callable, its signature accepts
the arguments sky_api passes, and what it answers (a request id or a value) is handled that way. The
fake SDK is built from the recorded signatures (fakesky/sky_signatures.json); the record must equal
what the installed SkyPilot has.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures" / "cloud"))
import sky_contract  # noqa: E402

from fakes import load_fake_sky  # noqa: E402
from kpbench.cloud import sky_api  # noqa: E402
from kpbench.errors import KpbenchError  # noqa: E402

needs_sky = pytest.mark.skipif(importlib.util.find_spec("sky") is None,
                               reason="SkyPilot is not installed here (pip install 'kpbench[cloud]'); CI installs it")


@pytest.fixture(scope="module")
def real_sky():
    import sky

    return sky


class RequestId(str):
    """What a strict SDK answers where SkyPilot answers a request id; only sky.get may take it."""


class StrictSdk:
    """The installed SkyPilot's signatures with scripted answers: every call is bound as the real one would."""

    def __init__(self, real, answers: dict):
        self.real, self.answers, self.calls, self.waited = real, answers, [], []
        self.client = types.SimpleNamespace(sdk=types.SimpleNamespace())
        self.Task = types.SimpleNamespace()
        self.__version__ = real.__version__
        for name, path in sky_api.SDK.items():
            target = sky_contract.resolve(real, path)
            assert callable(target), f"sky.{path} is not callable in SkyPilot {real.__version__}"
            holder = self.Task if path.startswith("Task.") else self.client.sdk
            setattr(holder, path.rsplit(".", 1)[-1], self._strict(name, target))
        # The top level as the real package has it: `sky.check` is a module there.
        for name in ("check", "launch", "get", "down"):
            setattr(self, name, getattr(real, name))

    def _strict(self, name: str, target):
        sig = inspect.signature(target)
        returns_request = "RequestId" in str(sig.return_annotation)

        def call(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)  # TypeError for an argument the real call does not take
            self.calls.append((name, bound.arguments))
            if name in ("get", "stream_and_get"):
                rid = bound.arguments["request_id"]
                assert isinstance(rid, RequestId), f"sky.{name} was given {rid!r}, not a request id"
                self.waited.append(rid)
                return self.answers[str(rid)]
            if returns_request:
                return RequestId(name)
            return self.answers[name]

        return call


def strict(real, **answers) -> StrictSdk:
    defaults = {"check": {"default": {"AWS": ["compute", "storage"]}}, "launch": (1, object()),
                "queue": [{"job_id": 1, "start_at": 1_700_000_000.0}], "down": None, "tail_logs": 0,
                "task_from_yaml": object()}
    return StrictSdk(real, {**defaults, **answers})


@pytest.fixture
def use_sdk():
    def install(module):
        sky_api.use(module)
        return module

    yield install
    sky_api.use(None)


def test_requests_are_exactly_the_calls_skypilot_answers_with_a_request_id():
    recorded = sky_contract.load()["calls"]
    assert set(recorded) == set(sky_api.SDK)
    assert {n for n, c in recorded.items() if c["returns_request_id"]} == set(sky_api.REQUESTS)
    assert all(c["callable"] for c in recorded.values())


@needs_sky
def test_the_recorded_signatures_the_fake_is_built_from_are_the_installed_skypilots(real_sky):
    assert sky_contract.describe(real_sky) == sky_contract.load(), (
        "SkyPilot changed: regenerate fakesky/sky_signatures.json (see tests/fixtures/cloud/sky_contract.py) "
        "and check kpbench's calls")


@needs_sky
def test_sky_check_at_the_top_level_is_not_the_call(real_sky):
    # The bug this file exists for: in 0.14 `sky.check` is the server's module; the call is sky.client.sdk.check.
    assert not callable(real_sky.check) and callable(real_sky.client.sdk.check)


@needs_sky
def test_every_call_of_a_launch_binds_to_the_installed_skypilot_and_waits_on_its_request_ids(real_sky, use_sdk):
    sdk = use_sdk(strict(real_sky))
    sky_api.check_aws()
    task = sky_api.task_from_yaml("/nonexistent/task.yaml")
    rid = sky_api.launch(task, "kpbench-g5-xlarge-0000", idle_minutes_to_autostop=10)
    assert sky_api.wait(rid, io.StringIO()) == sdk.answers["launch"]
    assert sky_api.tail_logs("kpbench-g5-xlarge-0000", 1, io.StringIO()) == 0
    assert sky_api.job_start_at("kpbench-g5-xlarge-0000", 1) == 1_700_000_000.0
    assert sky_api.down("kpbench-g5-xlarge-0000") is True
    sky_api.cancel([rid])
    called = [name for name, _ in sdk.calls]
    assert set(called) == set(sky_api.SDK)
    answered = {name for name in called if name in sky_api.REQUESTS} - {"api_cancel"}  # a cancel is not waited on
    assert {str(r) for r in sdk.waited} == answered
    launch_args = dict(next(args for name, args in sdk.calls if name == "launch"))
    assert launch_args["down"] is True and launch_args["cluster_name"] == "kpbench-g5-xlarge-0000"


@needs_sky
def test_no_aws_in_the_real_answer_is_one_line_naming_aws_and_sky_check(real_sky, use_sdk):
    use_sdk(strict(real_sky, check={"default": {}}))
    with pytest.raises(KpbenchError) as e:
        sky_api.check_aws()
    message = str(e.value)
    assert "\n" not in message and "AWS" in message and "`sky check aws`" in message and "nothing launched" in message


@needs_sky
def test_aws_enabled_for_storage_only_cannot_launch(real_sky, use_sdk):
    use_sdk(strict(real_sky, check={"default": {"AWS": ["storage"]}}))
    with pytest.raises(KpbenchError, match="no usable AWS credentials"):
        sky_api.check_aws()


def test_the_fake_refuses_what_the_real_sdk_refuses():
    fake = load_fake_sky()
    assert not callable(fake.check)  # as in SkyPilot 0.14
    with pytest.raises(TypeError):
        fake.client.sdk.launch(object(), cluster_name="c", no_such_option=True)
    with pytest.raises(TypeError):
        fake.client.sdk.check(("aws",))  # verbose is required by the real signature
    assert inspect.signature(fake.client.sdk.tail_logs) == sky_contract.signature(
        sky_contract.load()["calls"]["tail_logs"])


def test_an_sdk_without_the_call_is_one_line_naming_the_version(use_sdk):
    use_sdk(types.SimpleNamespace(__version__="0.9.0", client=types.SimpleNamespace(sdk=types.SimpleNamespace())))
    with pytest.raises(KpbenchError, match=r"SkyPilot 0.9.0 has no callable sky.client.sdk.(get|check)"):
        sky_api.check_aws()
