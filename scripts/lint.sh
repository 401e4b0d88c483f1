#!/usr/bin/env bash
# lint: reject the unsafe C calls of STYLE.md, unformatted sources, and a
# migrations folder out of step with migrations/meson.build.
# Run as `ninja -C build lint` or directly; exits non-zero on any finding.
set -u
root=${MESON_SOURCE_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
mapfile -t files < <(find common db api services tests fuzz bench migrations chain custody fix issuance reconcile \
  -name '*.[ch]' -not -path '*/build*' 2>/dev/null | sort)
status=0

banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|atoi|atol|atoll|gets|localtime|gmtime|ctime|asctime)[[:space:]]*\('
if hits=$(grep -nE "$banned" "${files[@]}"); then
  echo "lint: banned calls (use snprintf, memcpy with lengths, strtol, *_r forms):"
  echo "$hits"
  status=1
fi

if command -v clang-format >/dev/null; then
  if ! out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
    echo "lint: files not formatted (run: ninja -C build format):"
    echo "$out" | grep -E '^[^ ].*(error|warning):' | cut -d: -f1 | sort -u
    status=1
  fi
else
  echo "lint: clang-format not installed"
  status=1
fi

for f in migrations/*.sql; do
  b=$(basename "$f")
  grep -q "'$b'" migrations/meson.build || { echo "lint: $f is not listed in migrations/meson.build"; status=1; }
done

[ $status -eq 0 ] && echo "lint: ${#files[@]} files clean"
exit $status
