#!/usr/bin/env bash
# ansible-test sanity on the collection as it ships: `make sanity`.
#
# ansible-test wants the collection root as its working directory, under
# .../ansible_collections/ent/pronote/. The built tarball (what
# ansible-galaxy installs: no sandbox, tests or tools) is unpacked there, in
# var/sanity/, with tests/sanity/ (its ignore file) beside it, and checked with
# `ansible-test sanity --venv --python 3.11` (in a git repository of its own:
# ansible-test lists the files with git).
#
# Offline but for PyPI: ansible-test makes its virtualenvs without pip and
# downloads pip's bootstrap script from a host of its own. The stand-in
# tools/ansible_test_get_pip.py is put where ansible-test looks for a copy
# first (~/.ansible/test/cache/get_pip_<version>.py); the sanity tests' own
# requirements then come from PyPI as usual, and their virtualenvs are kept
# in ~/.ansible/test/venv for the next run.
#
#   tools/sanity.sh                     every sanity test
#   tools/sanity.sh --test pylint       one (any ansible-test sanity option)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV_BIN=${VENV_BIN:-$PWD/.venv/bin}
PY_VERSION=${SANITY_PYTHON:-3.11}
WORK=$PWD/var/sanity
DEST=$WORK/ansible_collections/ent/pronote

pip_version=$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" \
  "$("$VENV_BIN/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1)
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
if [ ! -s "$cache" ]; then
  mkdir -p "$(dirname "$cache")"
  cp tools/ansible_test_get_pip.py "$cache"
fi

rm -rf "$WORK/build"
"$VENV_BIN/ansible-galaxy" collection build --force --output-path "$WORK/build" . >/dev/null
# a fresh copy of what ships; ansible-test's own output (and its --venv virtualenv) is kept between runs
if [ -d "$DEST/tests/output" ]; then mv "$DEST/tests/output" "$WORK/output.keep"; fi
rm -rf "$DEST"
mkdir -p "$DEST"
tar -xzf "$WORK"/build/ent-pronote-*.tar.gz -C "$DEST"
mkdir -p "$DEST/tests"
cp -r tests/sanity "$DEST/tests/"
# var/ is inside this repository, where git ignores it: ansible-test lists a collection's files with git
# when it finds a repository, so the copy gets one of its own (its output left out)
echo "tests/output/" > "$DEST/.gitignore"
git -C "$DEST" init -q . && git -C "$DEST" add -A .
if [ -d "$WORK/output.keep" ]; then mv "$WORK/output.keep" "$DEST/tests/output"; fi

cd "$DEST"
exec "$VENV_BIN/ansible-test" sanity --venv --python "$PY_VERSION" --color no "$@"
