"""The canonical JSON a plan's content hash and the executor's idempotent order ids are made from: every
value a caller may hand it (numpy floats, string enums, read-only mappings, sequences that are not lists)
comes out as the plain JSON of its value, non-finite floats as strings, so equal values give equal bytes.
Also the small helpers whose output a user reads: the "did you mean" hint and the verdict of an account
that could not be read."""

from __future__ import annotations

import math
from collections import UserList
from types import MappingProxyType

import numpy as np

from riskguard.rules.codes import ReasonCode
from riskguard.rules.metric_catalog import suggest
from riskguard.rules.plan import canonical_json
from riskguard.rules.policy_check import failed_verdict


def test_canonical_json_when_numpy_floats_enums_and_abstract_containers_then_their_plain_json():
    value = {
        "np": [np.float64(1.5), np.float64(math.inf), np.float64(-math.inf), np.float64(math.nan)],
        "code": ReasonCode.DATA_MISSING,
        "ro": MappingProxyType({"b": math.inf, "a": (1, 2.5)}),
        "seq": UserList([0.25, -math.inf, "x"]),
        "flags": (True, None, 3),
    }
    assert canonical_json(value) == (
        '{"code":"DATA_MISSING","flags":[true,null,3],"np":[1.5,"inf","-inf","nan"],'
        '"ro":{"a":[1,2.5],"b":"inf"},"seq":[0.25,"-inf","x"]}')


def test_canonical_json_when_equal_values_of_other_types_then_equal_bytes():
    assert canonical_json({"a": (1.0, 2.0)}) == canonical_json(MappingProxyType({"a": UserList([1.0, 2.0])}))
    assert canonical_json([math.inf, -math.inf]) == canonical_json([np.float64(math.inf), np.float64(-math.inf)])


def test_suggest_when_a_near_name_then_the_hint_else_nothing():
    assert suggest("margin_ratoi", ["margin_ratio", "adl_rank"]) == " (did you mean 'margin_ratio'?)"
    assert suggest("zzzz", ["margin_ratio", "adl_rank"]) == ""


def test_failed_verdict_names_the_account_and_venue_and_is_unknown():
    v = failed_verdict("main", "okx", ReasonCode.FETCH_FAILED, "timeout")
    assert (v.name, v.venue, v.risk, v.positions, v.taken_at_ms) == ("main", "okx", None, (), None)
    assert [(f.code, f.message) for f in v.findings] == [(ReasonCode.FETCH_FAILED, "timeout")]
