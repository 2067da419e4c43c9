#!/usr/bin/env bash
# After the suite has passed: write the installed versions (pip freeze, the project itself left out)
# to constraints/tested.txt, the set README tells users to install with
#   pip install -e ".[tests]" -c constraints/tested.txt
# and print what moved since the committed record, so a release that changes behaviour shows up in
# the CI log next to the run that first saw it. Run from the repository root, in the venv under test.
set -euo pipefail
record=constraints/tested.txt
mkdir -p "$(dirname "$record")"
tmp=$(mktemp "$record.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  echo "# The versions the test suite last passed with (written by .ci/run after a passing run;"
  echo "# commit it when it changes). Install exactly these: pip install -e \".[tests]\" -c $record"
  echo "# $(python -c 'import platform, sys; print(f"Python {sys.version.split()[0]}, {platform.system()} {platform.machine()}")')"
  python -m pip freeze --exclude-editable --all | grep -v -E '^(pip|setuptools|wheel)==' | LC_ALL=C sort -f
} > "$tmp"
if [ -f "$record" ] && ! diff -q <(grep -v '^#' "$record") <(grep -v '^#' "$tmp") > /dev/null; then
  echo "versions changed since the committed $record (< committed, > this passing run):"
  diff <(grep -v '^#' "$record") <(grep -v '^#' "$tmp") | grep '^[<>]' || true
elif [ ! -f "$record" ]; then
  echo "no $record committed yet: writing it"
else
  echo "versions as in the committed $record"
fi
mv "$tmp" "$record"
trap - EXIT
