#!/usr/bin/env bash
# Mutation testing (mutmut 3) over the code whose silent bugs cost money: the risk math, the policy rules (with
# the DATA_STALE freshness check), the shipped deleveraging strategies, the venue normalizers and secret redaction.  mutmut plants one small bug at a
# time (an operator, a constant, a comparison) and runs the tests that cover the mutated function; a mutant no
# test notices ("survived") is a behaviour no test pins down.  Not part of CI: an area takes minutes to hours.
#
#   scripts/mutation.sh rules          # riskguard/rules (small: start here)
#   scripts/mutation.sh strategies     # the shipped strategies (top-level strategies/ package)
#   scripts/mutation.sh rules strategies   # several areas in one run (the coverage pass runs once)
#   scripts/mutation.sh risk           # riskguard/risk
#   scripts/mutation.sh normalize      # riskguard/connectors/normalize (shape, range and freshness checks)
#   scripts/mutation.sh redact         # riskguard/connectors/redact.py
#   scripts/mutation.sh all
#   MUTMUT_JOBS=4 scripts/mutation.sh risk    # parallel workers (default 2)
#
# Results stay in mutants/ (git-ignored): `mutmut results` lists survivors, `mutmut show NAME` shows one
# mutant's diff, `mutmut browse` is an interactive view.  Configuration: [tool.mutmut] in pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: $0 risk|rules|strategies|normalize|redact|all [more areas]"
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
patterns=()
for area in "$@"; do
  case "$area" in
    risk) patterns+=("riskguard.risk.*") ;;
    rules) patterns+=("riskguard.rules.*") ;;
    strategies) patterns+=("strategies.*") ;;
    normalize) patterns+=("riskguard.connectors.normalize.*") ;;
    redact) patterns+=("riskguard.connectors.redact.*") ;;
    all) patterns=(); break ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done

python -c "import mutmut" 2>/dev/null || python -m pip install -q -e ".[test,mutation]"

# The mutated copy runs the tests from mutants/; riskguard and strategies must import from there, not from the
# editable install (whose finder comes after sys.path, so mutants/ on PYTHONPATH wins).
mkdir -p mutants  # exists before Python starts, or its import system caches it as missing
export PYTHONPATH="$PWD/mutants${PYTHONPATH:+:$PYTHONPATH}"
mutmut run --max-children "${MUTMUT_JOBS:-2}" "${patterns[@]}"

# Score for the area: killed (and timed-out) mutants over all mutants that ran.
mutmut results --all true > mutants/results.txt || true
python - "${patterns[@]}" <<'PY'
import fnmatch, re, sys
from collections import Counter
patterns = sys.argv[1:] or ["*"]
counts, per_module = Counter(), {}
for line in open("mutants/results.txt", encoding="utf-8"):
    m = re.match(r"\s*([\w.]+__mutmut_\d+): (.+)$", line)
    if not m or not any(fnmatch.fnmatch(m.group(1), p) for p in patterns):
        continue
    module = m.group(1).rsplit(".", 1)[0]
    status = m.group(2).strip()
    per_module.setdefault(module, Counter())[status] += 1
    counts[status] += 1
def score(c):
    caught = c["killed"] + c["timeout"]
    ran = caught + c["survived"] + c["suspicious"]
    return f"{caught}/{ran} killed ({100 * caught / ran:.1f}%)" if ran else "no mutants ran"
for module, c in sorted(per_module.items()):
    print(f"{module:55} {score(c)}  {dict(c)}")
print(f"{'TOTAL':55} {score(counts)}")
PY
echo "survivors: mutmut results   one mutant: mutmut show NAME"
