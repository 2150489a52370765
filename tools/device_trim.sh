#!/bin/sh
# The device machine takes the checkout (tracked and untracked-not-ignored files) plus carried paths, 64 MiB in
# all; a data chunk of tools/device_run.py is up to ~60 MiB. `on`: switch to a temporary branch `device-trim` of
# HEAD without what a training run there does not need (the shipped weights, docs, examples, tests: ~1 MB travels;
# a run that starts from a shipped model carries that file itself, e.g. halved into an ignored folder and stashed
# with the first chunk) and print the size that will travel; `off`: back to the branch you were on (everything
# restored), the temporary branch deleted.
set -e
cd "$(git rev-parse --show-toplevel)"
case "$1" in
on)
    test -z "$(git status --porcelain --untracked-files=no)" || { echo "device_trim: commit or stash your changes first" >&2; exit 2; }
    git rev-parse --abbrev-ref HEAD > .git/device_trim_from
    git checkout -q -B device-trim
    git rm -q -r 'src/tinct/weights/*.safetensors' docs examples tests
    git commit -q -m "device-trim: only what a training run on the device needs"
    echo "travels: $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) bytes tracked," \
         "$(git ls-files -z --others --exclude-standard | xargs -0 -r du -cb | tail -1 | cut -f1) untracked"
    ;;
off)
    git checkout -q "$(cat .git/device_trim_from)"
    git branch -q -D device-trim
    rm -f .git/device_trim_from
    ;;
*)
    echo "usage: tools/device_trim.sh on|off" >&2; exit 2
    ;;
esac
